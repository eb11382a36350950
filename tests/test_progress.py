"""The lines a run says while it runs: pure formatting, and a ticker that stops."""

from __future__ import annotations

import threading

from loadtests.history import History
from loadtests.run.plan import plan
from loadtests.run.progress import (
    Snapshot,
    from_history,
    from_tally,
    progress_line,
    start_line,
    ticking,
)
from loadtests.run.settings import RunSettings


def test_the_start_line_names_target_server_size_and_run_directory() -> None:
    settings = RunSettings(build="unlocked", server="gunicorn", workers=2, votes=500, clients=4)
    line = start_line(settings, plan(settings), "http://127.0.0.1:5000", "reports/x")
    assert line == (
        "racecheck run: unlocked build on gunicorn (16 threads, 2 workers) at "
        "http://127.0.0.1:5000; 500 votes from 4 clients (requests driver); "
        "run directory reports/x"
    )


def test_a_running_target_is_named_by_its_url() -> None:
    settings = RunSettings(target_url="http://127.0.0.1:5000", duration=2.5)
    line = start_line(settings, plan(settings), "http://127.0.0.1:5000", "r")
    assert "the target already running at http://127.0.0.1:5000; 2.5 s from 32 clients" in line


def test_progress_counts_completed_votes_and_the_unacknowledged() -> None:
    history = History()
    for n, outcome in enumerate(["ok", "ok", "info", "fail"]):
        history.complete(history.invoke(n, "vote", {"choice": "yes"}, f"v-{n}"), outcome, None)
    history.invoke(9, "vote", {"choice": "no"}, "v-9")  # still open: not counted
    history.complete(history.invoke(8, "read", None), "ok", None)  # a read is no vote
    shot = from_history(history, 2.0)
    assert shot == Snapshot(2.0, 4, 2)
    assert progress_line(shot) == (
        "racecheck progress: 2 s, 4 votes completed (2/s), 2 not acknowledged (fail or info)"
    )


def test_locust_progress_is_the_servers_tally() -> None:
    assert from_tally(None, 1.0) is None
    shot = from_tally({"yes": 1200, "no": 1800}, 3.0)
    assert shot is not None
    assert progress_line(shot) == (
        "racecheck progress: 3 s, 3,000 votes in the server's tally (1,000/s), "
        "errors counted when the load stops"
    )


def test_ticking_says_lines_until_the_body_ends() -> None:
    said: list[str] = []
    heard = threading.Event()

    def say(line: str) -> None:
        said.append(line)
        heard.set()

    with ticking(say, lambda seconds: Snapshot(seconds, 1, 0), every=0.01):
        assert heard.wait(30)
    count = len(said)
    assert said[0].startswith("racecheck progress: ")
    assert len(said) == count  # nothing after the body ended


def test_no_say_no_thread() -> None:
    before = threading.active_count()
    with ticking(None, lambda seconds: None):
        assert threading.active_count() == before
