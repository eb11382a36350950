"""The requests driver, offline: its transport is replaced by an in-memory counter service."""

from __future__ import annotations

import _thread
import dataclasses
import json
import sys
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable
from typing import Any

import pytest

from loadtests.drive import driver as driver_module
from loadtests.drive.client import Reply, Timeout
from loadtests.drive.driver import Load, RequestsDriver
from loadtests.errors import UsageError
from loadtests.history import History, Op
from loadtests.target.workload import RequestSpec, reference_workload

URL = "http://127.0.0.1:9"


class Service:
    """A correct, locked in-memory vote counter that answers like the reference API."""

    def __init__(self, hook: Callable[[int], None] | None = None) -> None:
        self.lock = threading.Lock()
        self.counts: Tally[str] = Tally()
        self.requests = 0
        self.hook = hook  # called with the request number, outside the lock
        self.closed = 0

    def transport(self, timeout: Timeout, session: object = None) -> Service:
        return self  # one shared service stands in for every thread's Session

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        assert base_url == URL
        if request.method == "GET":  # a read of the tally during the run
            with self.lock:
                tally = {"yes": self.counts["yes"], "no": self.counts["no"]}
            return Reply(200, json.dumps({**tally, "resolution": {"id": 1}, "pid": 1}))
        with self.lock:
            self.requests += 1
            number = self.requests
            choice = request.json["choice"]
            self.counts[choice] += 1
            count = self.counts[choice]
        if self.hook is not None:
            self.hook(number)
        return Reply(200, json.dumps({"count": count, "pid": 1, "resolution_id": 1}))

    def close(self) -> None:
        with self.lock:
            self.closed += 1


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Service:
    svc = Service()
    monkeypatch.setattr(driver_module, "SessionTransport", svc.transport)
    return svc


def votes(history: History) -> list[Op]:
    return [op for op in history.ops() if op.f == "vote"]


def client_threads_alive() -> bool:
    return any(t.name.startswith("racecheck-client-") for t in threading.enumerate())


@pytest.mark.parametrize(("clients", "n"), [(1, 5), (8, 300), (32, 1000), (7, 3)])
def test_exactly_n_votes_each_invoked_and_completed_once(
    service: Service, clients: int, n: int
) -> None:
    history = History("requests")
    load = Load(clients=clients, votes=n, vote_id_prefix="ab12")

    RequestsDriver(load, progress=False).run(URL, reference_workload(), history)

    ops = votes(history)
    invokes = [op for op in ops if op.type == "invoke"]
    completions = [op for op in ops if op.type != "invoke"]
    assert len(invokes) == len(completions) == n
    assert {op.type for op in completions} == {"ok"}
    assert sorted(op.vote_id or "" for op in invokes) == sorted(f"ab12-{i}" for i in range(n))
    assert {op.process for op in ops} <= set(range(clients))
    assert {op.driver for op in ops} == {"requests"}
    assert history.pending() == 0
    assert service.requests == n
    assert service.closed == clients  # every thread closed its session
    assert not client_threads_alive()


def test_each_thread_records_invoke_then_completion_in_order(service: Service) -> None:
    history = History()
    RequestsDriver(Load(clients=4, votes=200), progress=False).run(
        URL, reference_workload(), history
    )
    for process in range(4):
        mine = [op.type for op in votes(history) if op.process == process]
        assert mine == ["invoke", "ok"] * (len(mine) // 2)


def test_the_votes_are_a_mix_of_every_choice(service: Service) -> None:
    history = History()
    RequestsDriver(Load(clients=4, votes=400), progress=False).run(
        URL, reference_workload(), history
    )
    chosen = Tally(op.value["choice"] for op in votes(history) if op.type == "invoke")
    assert set(chosen) == {"yes", "no"}
    assert min(chosen.values()) > 100  # a coin per vote, not one choice per thread
    assert dict(service.counts) == dict(chosen)


@pytest.mark.parametrize(("clients", "n"), [(4, 10), (8, 8), (8, 3), (16, 100)])
def test_burst_mode_sends_exactly_n_votes_even_when_rounds_are_ragged(
    service: Service, clients: int, n: int
) -> None:
    history = History()
    RequestsDriver(Load(clients=clients, votes=n, burst=True), progress=False).run(
        URL, reference_workload(), history
    )
    assert len([op for op in votes(history) if op.type == "ok"]) == n
    assert history.pending() == 0
    assert not client_threads_alive()


def test_burst_mode_releases_a_round_together(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each request of the first round waits until all 4 are inside send(): without the
    # barrier this still happens eventually, so the proof is that round 2 never starts
    # before round 1 is all in (no request number > 4 seen while one of 1..4 waits).
    clients = 4
    inside = threading.Barrier(clients, timeout=30)
    seen_early: list[int] = []

    def hook(number: int) -> None:
        if number <= clients:
            inside.wait()
        elif inside.n_waiting:
            seen_early.append(number)

    svc = Service(hook)
    monkeypatch.setattr(driver_module, "SessionTransport", svc.transport)
    history = History()
    RequestsDriver(Load(clients=clients, votes=12, burst=True), progress=False).run(
        URL, reference_workload(), history
    )
    assert svc.requests == 12 and not seen_early


def test_a_duration_bound_stops_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = Service(hook=lambda number: time.sleep(0.001))
    monkeypatch.setattr(driver_module, "SessionTransport", svc.transport)
    history = History()
    RequestsDriver(Load(clients=4, votes=None, duration=0.3), progress=False).run(
        URL, reference_workload(), history
    )
    ops = votes(history)
    assert ops and history.pending() == 0
    assert len([op for op in ops if op.type == "invoke"]) == svc.requests
    assert not client_threads_alive()


def test_setting_stop_ends_the_load_early_with_every_op_completed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    holder: dict[str, RequestsDriver] = {}

    def hook(number: int) -> None:
        if number == 50:
            holder["driver"].stop.set()

    svc = Service(hook)
    monkeypatch.setattr(driver_module, "SessionTransport", svc.transport)
    history = History()
    holder["driver"] = RequestsDriver(Load(clients=4, votes=100_000), progress=False)
    holder["driver"].run(URL, reference_workload(), history)
    ops = votes(history)
    invoked = len([op for op in ops if op.type == "invoke"])
    assert 50 <= invoked < 100_000
    assert invoked == len(ops) - invoked and history.pending() == 0


def test_an_interrupt_records_in_flight_votes_as_info_and_nothing_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()

    def hook(number: int) -> None:
        if number == 20:
            _thread.interrupt_main()  # Ctrl-C arrives while this vote is in flight
            release.wait(30)

    svc = Service(hook)
    monkeypatch.setattr(driver_module, "SessionTransport", svc.transport)
    history = History()
    load = Load(clients=2, votes=100_000, timeout=Timeout(connect=0.01, read=1.0))

    with pytest.raises(KeyboardInterrupt):
        RequestsDriver(load, progress=False).run(URL, reference_workload(), history)

    infos = [op for op in votes(history) if op.type == "info"]
    assert [op.value["error"] for op in infos] == ["interrupted while in flight"]
    assert history.pending() == 0
    # The straggler's reply now arrives: its vote was already closed as info, and a
    # second completion would make the history inconsistent ("exactly one completion").
    release.set()
    deadline = time.monotonic() + 30
    while client_threads_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not client_threads_alive()
    ops = votes(history)
    assert len([op for op in ops if op.type == "invoke"]) * 2 == len(ops)
    per_vote = Tally(op.vote_id for op in ops if op.type != "invoke")
    assert set(per_vote.values()) == {1}


def test_an_interrupt_releases_threads_waiting_for_a_burst_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()

    def hook(number: int) -> None:
        if number == 6:  # one thread of round two hangs; the others wait for it
            _thread.interrupt_main()
            release.wait(30)

    svc = Service(hook)
    monkeypatch.setattr(driver_module, "SessionTransport", svc.transport)
    history = History()
    load = Load(clients=4, votes=100_000, burst=True, timeout=Timeout(connect=0.01, read=1.0))
    try:
        with pytest.raises(KeyboardInterrupt):
            RequestsDriver(load, progress=False).run(URL, reference_workload(), history)
        # Only the hung request's thread is left; the three at the barrier were let go
        # and sent nothing more.
        alive = [t for t in threading.enumerate() if t.name.startswith("racecheck-client-")]
        assert len(alive) == 1
        assert svc.requests == 8  # rounds one and two; round three never filled
    finally:
        release.set()
    deadline = time.monotonic() + 30
    while client_threads_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not client_threads_alive()
    assert history.pending() == 0


def test_a_progress_bar_can_be_drawn(service: Service) -> None:
    history = History()
    RequestsDriver(Load(clients=2, votes=20), progress=True).run(URL, reference_workload(), history)
    assert len(votes(history)) == 40


def test_no_progress_bar_off_a_terminal_or_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under pytest stderr is captured, not a TTY.
    assert RequestsDriver(Load(votes=1)).progress is False
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("CI", "true")
    assert RequestsDriver(Load(votes=1)).progress is False
    monkeypatch.delenv("CI")
    assert RequestsDriver(Load(votes=1)).progress is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"clients": 0}, "--clients"),
        ({"votes": None}, "exactly one of --votes"),
        ({"votes": 10, "duration": 1.0}, "exactly one of --votes"),
        ({"votes": 0}, "--votes must be at least 1"),
        ({"votes": None, "duration": 0.0}, "--duration"),
        ({"votes": None, "duration": -1.0}, "--duration"),
    ],
)
def test_a_load_is_always_bounded(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Load(**kwargs)


def test_read_every_n_interleaves_reads_that_the_checker_judges(service: Service) -> None:
    from loadtests.check.checker import CheckSettings, FinalState, check

    history = History("requests")
    workload = dataclasses.replace(reference_workload(), read_every=3)
    RequestsDriver(Load(clients=1, votes=6), progress=False).run(URL, workload, history)

    reads = [op for op in history.ops() if op.f == "read"]
    assert [op.type for op in reads] == ["invoke", "ok"] * 3  # ops 3, 6 and 9 of the client
    assert len(votes(history)) == 12 and service.requests == 6
    assert sum(reads[1].value["counts"].values()) == 2  # after the client's first 2 votes
    assert sum(reads[-1].value["counts"].values()) == 6
    final = FinalState(dict(service.counts), 1, time.time_ns(), (1,))
    verdict = check(history.ops(), final, CheckSettings(choices=("yes", "no")))
    assert verdict.check("reads").status == "PASS"
    # One client never overlaps itself: the reads are judged, but the run proves nothing.
    assert verdict.check("concurrency").status == "UNKNOWN"
    assert verdict.status == "UNKNOWN"
