"""The exact accounting behind Locust runs, on hand-built ledgers (no Locust, no network)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.errors import HistoryError, UsageError
from loadtests.history import History
from loadtests.swarm.accounting import MasterLedger, WorkerLedger, collect, count_votes, split_quota
from loadtests.swarm.live import LiveView, Peek
from loadtests.swarm.options import FLAGS, RacecheckOptions, add_arguments
from loadtests.swarm.protocol import RUN_ATTR, RunInfo, RunSummary, WorkerFinal
from loadtests.swarm.tally import COLUMNS, tally_rows, verdict_line


def ledger(tmp_path: Path, worker: str = "w0", quota: int | None = None) -> WorkerLedger:
    return WorkerLedger(
        "run1",
        worker,
        f"node-{worker}",
        tmp_path / "workers" / f"{worker}.history.jsonl",
        prefix="run1-",
        quota=quota,
        choices=("yes", "no"),
    )


def vote(book: WorkerLedger, process: str, choice: str, outcome: str, count: int = 0) -> None:
    """One vote through the ledger's history, as a Locust user would record it."""
    vote_id = book.claim()
    assert vote_id is not None
    inv = book.history.invoke(process, "vote", {"choice": choice}, vote_id)
    if outcome == "open":
        return
    value: dict[str, Any] = {"choice": choice}
    value.update({"count": count, "pid": 1, "resolution_id": 1} if outcome == "ok" else {})
    book.note(book.history.complete(inv, outcome, value))  # type: ignore[arg-type]


def test_split_quota_shares_every_vote() -> None:
    assert split_quota(10, ["a", "b", "c"]) == {"a": 4, "b": 3, "c": 3}
    assert sum(split_quota(1001, [str(i) for i in range(7)]).values()) == 1001
    assert split_quota(5, []) == {}


def test_worker_ledger_numbers_votes_with_its_prefix_and_stops_at_its_quota(
    tmp_path: Path,
) -> None:
    book = ledger(tmp_path, "w3", quota=2)
    assert book.new_user() == "w3/u0"
    assert [book.claim(), book.claim(), book.claim()] == ["run1-w3-1", "run1-w3-2", None]
    assert book.user_stopped() is True  # quota spent and no user left


def test_worker_ledger_hands_in_its_history_with_open_votes_as_info(tmp_path: Path) -> None:
    book = ledger(tmp_path)
    user = book.new_user()
    vote(book, user, "yes", "ok", 1)
    vote(book, user, "no", "fail")
    vote(book, user, "no", "open")  # still in flight when the user stopped
    assert book.snapshot()["acked"] == {"yes": 1, "no": 0}
    final = book.finish()
    assert final.closed_as_info == 1
    assert dict(final.counts) == {"yes": [1, 0, 0], "no": [0, 1, 1]}
    assert final.ops == 6
    assert Path(final.path).is_file()
    assert book.finish() is final  # once per run
    assert book.claim() is None  # no vote after the hand-in


def test_master_ledger_names_the_worker_whose_counts_are_missing(tmp_path: Path) -> None:
    master = MasterLedger("run1")
    master.join("node-w0", "w0")
    master.note_report("node-w1", {"run_id": "run1", "worker": "w1", "acked": {"yes": 5}})
    master.note_report("node-w9", {"run_id": "old", "worker": "w9", "acked": {"yes": 99}})
    book = ledger(tmp_path, "w0")
    vote(book, book.new_user(), "yes", "ok", 1)
    assert master.accept_final(book.finish())
    stale = WorkerFinal("old", "w7", "node-w7", "x", 0, {})
    assert not master.accept_final(stale)
    assert master.waiting() == ["node-w1"]
    assert master.acked() == {"yes": 6}  # exact for w0, live for w1
    (gap,) = master.missing()
    assert "Locust worker w1 (node-w1)" in gap and "sent no final counts" in gap


def test_master_ledger_is_done_when_every_quota_is_spent() -> None:
    master = MasterLedger("run1", quotas={"a": 3, "b": 0, "c": 2})
    master.finished_quota("a", "run1")
    assert not master.all_done()
    master.finished_quota("c", "other-run")
    assert not master.all_done()
    master.finished_quota("c", "run1")
    assert master.all_done()
    assert not MasterLedger("run1").all_done()  # no quota: only the run time ends it


def test_collect_merges_worker_histories_exactly(tmp_path: Path) -> None:
    finals = []
    for worker in ("w0", "w1"):
        book = ledger(tmp_path, worker)
        user = book.new_user()
        for n in range(1, 4):
            vote(book, user, "yes", "ok", n)
        finals.append(book.finish())
    collected = collect(finals)
    assert collected.gaps == ()
    assert collected.workers == 2
    assert len(collected.ops) == 12
    assert [op.index for op in collected.ops] == list(range(12))
    assert count_votes(collected.ops) == {"yes": [6, 0, 0]}


def test_collect_turns_unreadable_or_inconsistent_files_into_gaps(tmp_path: Path) -> None:
    book = ledger(tmp_path, "w0")
    vote(book, book.new_user(), "yes", "ok", 1)
    good = book.finish()
    lying = WorkerFinal("run1", "w1", "node-w1", good.path, good.ops + 1, good.counts)
    missing = WorkerFinal("run1", "w2", "node-w2", str(tmp_path / "nope.jsonl"), 0, {})
    collected = collect([lying, missing], gaps=["someone else's gap"])
    assert collected.ops == []
    assert collected.gaps[0] == "someone else's gap"
    assert "reported 3 ops" in collected.gaps[1]
    assert "cannot read" in collected.gaps[2] and "--racecheck-results-dir" in collected.gaps[2]


def test_collect_refuses_a_vote_id_claimed_by_two_workers(tmp_path: Path) -> None:
    first, second = ledger(tmp_path / "a", "w0"), ledger(tmp_path / "b", "w0")
    for book in (first, second):
        vote(book, book.new_user(), "yes", "ok", 1)
    with pytest.raises(HistoryError, match="its own vote-id prefix"):
        collect([first.finish(), second.finish()])


def test_a_missing_worker_makes_the_verdict_unknown_never_fail(tmp_path: Path) -> None:
    book = ledger(tmp_path, "w0")
    for n in range(1, 6):
        vote(book, book.new_user(), "yes", "ok", n)
    master = MasterLedger("run1")
    master.join("node-w1", "w1")  # it voted too, then was killed
    master.accept_final(book.finish())
    collected = collect(master.finals.values(), master.missing())
    # The server counted w1's votes as well: without the gap this would be phantom votes.
    final = FinalState({"yes": 9, "no": 0}, resolution_id=1)
    verdict = check(collected.ops, final, CheckSettings(choices=("yes", "no"), gaps=collected.gaps))
    assert verdict.status == "UNKNOWN"
    assert "Locust worker w1" in verdict.reason


def test_run_summary_round_trips_and_refuses_other_files(tmp_path: Path) -> None:
    final = WorkerFinal("run1", "w0", "n0", "p", 4, {"yes": [1, 0, 1]}, 1)
    path = tmp_path / "summary.json"
    RunSummary("run1", (final,), ("gap",)).write(path)
    assert RunSummary.read(path) == RunSummary("run1", (final,), ("gap",))
    path.write_text(json.dumps({"schema": "something else"}), encoding="utf-8")
    with pytest.raises(HistoryError, match="not a racecheck Locust summary"):
        RunSummary.read(path)
    with pytest.raises(HistoryError, match="cannot read"):
        RunSummary.read(tmp_path / "absent.json")
    with pytest.raises(HistoryError, match="malformed final message"):
        WorkerFinal.from_dict({"run_id": "x"})


class RecordingParser:
    """Stands in for Locust's parser (importing locust would patch this process)."""

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser()
        self.env_vars: dict[str, str] = {}

    def set_defaults(self, **defaults: Any) -> None:
        self.parser.set_defaults(**defaults)

    def add_argument(self, flag: str, *, env_var: str, **kwargs: Any) -> None:
        kwargs.pop("include_in_web_ui", None)
        self.env_vars[flag] = env_var
        self.parser.add_argument(flag, **kwargs)


def test_every_flag_is_registered_with_an_environment_variable() -> None:
    recorder = RecordingParser()
    add_arguments(recorder)
    assert set(recorder.env_vars) == set(FLAGS)
    assert recorder.env_vars["--racecheck-build"] == "LOCUST_RACECHECK_BUILD"
    parsed = recorder.parser.parse_args(["--racecheck-votes", "10", "--racecheck-managed"])
    options = RacecheckOptions.from_parsed(parsed)
    assert (options.votes, options.managed, options.build, options.expect) == (
        10,
        True,
        None,
        "pass",
    )
    assert options.workload().choices == ("yes", "no")
    assert options.label == "voting-locust"
    assert (parsed.web_host, parsed.master_bind_host) == ("127.0.0.1", "127.0.0.1")


def test_options_carry_the_run_info_the_master_sent() -> None:
    info = RunInfo("abc", "/tmp/run", {"node": 7})
    parsed = argparse.Namespace(**{RUN_ATTR: info.to_dict(), "racecheck_build": "sqlite"})
    options = RacecheckOptions.from_parsed(parsed)
    assert options.run == info
    assert options.workload().shared_state is True
    with pytest.raises(UsageError, match="--racecheck-expect"):
        RacecheckOptions(expect="maybe")


RESULT: dict[str, Any] = {
    "verdict": "FAIL",
    "reason": "37 acknowledged YES votes are missing",
    "exit_code": 1,
    "expected": None,
    "counts": {
        "yes": {"ok": 100, "fail": 0, "info": 2, "final": 63, "lost": 37, "phantom": 0},
        "no": {"ok": 50, "fail": 1, "info": 0, "final": 50, "lost": 0, "phantom": 0},
    },
    "checks": [{"name": "bounds", "status": "FAIL", "detail": "37 lost"}],
}


def test_the_verdict_line_is_one_line_with_counts_reason_and_place() -> None:
    line = verdict_line(RESULT, "reports/x")
    assert "\n" not in line
    assert line.startswith("racecheck verdict: FAIL yes ok=100 final=63 info=2 lost=37")
    assert "no ok=50 final=50" in line and "exit 1" in line and line.endswith("reports/x")


def test_tally_rows_show_live_counts_then_the_verdict_and_each_check() -> None:
    view = LiveView()
    view.add(Peek(1.0, {"yes": 12, "no": 4}, {"yes": 10, "no": 4}))
    live = tally_rows(view, None, state="running")
    assert [r["row"] for r in live] == ["yes", "no"]
    assert live[0]["acked"] == 10 and live[0]["server"] == 12
    assert live[0]["difference"] == 2 and live[0]["tone"] == ""  # within bounds: no proof
    done = tally_rows(view, None, state="done", result=RESULT)
    assert [r["row"] for r in done] == ["yes", "no", "verdict", "bounds"]
    assert done[0]["difference"] == -37 and done[0]["detail"] == "37 acknowledged votes lost"
    assert done[2]["status"] == "FAIL"
    # The web UI camel-cases keys: single lowercase words survive that unchanged.
    assert all(key.isalpha() and key.islower() for key, _ in COLUMNS)


def test_history_written_by_a_ledger_loads_back(tmp_path: Path) -> None:
    book = ledger(tmp_path)
    vote(book, book.new_user(), "no", "ok", 1)
    final = book.finish()
    assert count_votes(History("locust", []).ops()) == {}
    assert Path(final.path).read_text(encoding="utf-8").count("\n") == final.ops
