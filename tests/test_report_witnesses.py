"""The run report's witnesses: ms since the first vote, a choice column, groups of 3+ votes,
effective settings instead of dashes, and arrowheads on cut bars."""

from __future__ import annotations

from pathlib import Path

from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.history import History
from loadtests.report.run_page import _settings, _witness_row, run_context
from loadtests.report.words import DASH
from loadtests.run.round import finish
from loadtests.run.rundir import read_result, write_history
from loadtests.stats import summarize

T0 = 1_764_000_000_000_000_000
MS = 1_000_000
PID = 7


def test_a_witness_shows_ms_since_the_first_vote_and_its_choice() -> None:
    row = _witness_row({"vote_id": "v-1", "invoke_ns": T0 + 2 * MS, "complete_ns": T0 + 5 * MS}, T0)
    assert row == {"vote_id": "v-1", "invoke_ms": 2.0, "complete_ms": 5.0, "choice": DASH}
    assert _witness_row({"choice": "yes", "count": 3}, T0)["choice"] == "YES"
    assert "choice" not in _witness_row({"pid": 12}, T0)  # not a vote: no choice column


def test_settings_left_unset_show_what_they_became() -> None:
    shown = dict(
        _settings(
            {
                "threads": None,
                "workers": None,
                "race_window": None,
                "name": "x",
                "effective": {"threads": 16, "workers": 1, "race_window": 0.0},
            }
        )
    )
    assert shown == {
        "threads": "16 (default)",
        "workers": "1 (default)",
        "race_window": "0 (default)",
        "name": "x",
    }


def _triple_collision(tmp_path: Path) -> Path:
    """Three yes votes that all returned count 2, then enough collisions for the table."""
    history = History("requests")
    start = history.invoke("harness", "start", None)
    history.complete(start, "ok", {"id": 1, "text": "t", "state": "voting", "resolution_id": 1})
    votes = [("a", 1), ("b", 2), ("c", 2), ("d", 2), ("e", 3), ("f", 3), ("g", 4), ("h", 4)]
    votes += [("i", 5), ("j", 5), ("k", 6), ("l", 6)]
    for n, (vote_id, _) in enumerate(votes):
        history.append(n, "invoke", "vote", {"choice": "yes"}, vote_id, time_ns=T0 + n * MS)
    for n, (vote_id, count) in enumerate(votes):
        value = {"choice": "yes", "count": count, "pid": PID, "resolution_id": 1}
        history.append(n, "ok", "vote", value, vote_id, time_ns=T0 + (20 + n) * MS)
    stop = history.invoke("harness", "stop", None)
    history.complete(stop, "ok", {"id": 1, "yes": 6, "no": 0, "resolution_id": 1})
    settings = CheckSettings(choices=("yes", "no"))
    final = FinalState({"yes": 6, "no": 0}, 1, None, (PID,), "read")
    verdict = check(history.ops(), final, settings)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_history(run_dir, history)
    run_settings = {"build": "unlocked", "threads": None, "name": "unit"}
    run_settings["effective"] = {"threads": 16}
    finish(run_dir, verdict, final, settings, run_settings, summarize(history.ops()))
    return run_dir


def test_three_votes_with_one_count_are_one_group(tmp_path: Path) -> None:
    run_dir = _triple_collision(tmp_path)
    context = run_context(run_dir, read_result(run_dir))
    assert context["collision_groups"] == 5
    triple = [r for r in context["pairs"] if r["count"] == 2]
    assert len(triple) == 3 and {r["size"] for r in triple} == {3}
    assert {r["pair"] for r in triple} == {triple[0]["pair"]}
    assert {r["choice"] for r in context["pairs"]} == {"YES"}
    html = (run_dir / "index.html").read_text()
    assert "three YES votes all returned count 2" in html
    assert "All 5 recorded collisions" in html
    assert "16 (default)" in html
    assert not any(len(word) >= 19 and word.isdigit() for word in html.split())


def test_a_bar_cut_at_the_edge_gets_an_arrowhead() -> None:
    from loadtests.report import svg
    from loadtests.report.plots_timeline import timeline_plot
    from loadtests.report.scan import Collision, scan

    history = History("requests")

    def vote(process: int, start: float, end: float, count: int) -> dict[str, object]:
        vote_id = f"v{len(history)}"
        history.append(process, "invoke", "vote", {"choice": "yes"}, vote_id, int(T0 + start * MS))
        value = {"choice": "yes", "count": count, "pid": 1, "resolution_id": 1}
        history.append(process, "ok", "vote", value, vote_id, int(T0 + end * MS))
        same = {"pid": 1, "resolution_id": 1, "count": count, "process": process}
        return {"vote_id": vote_id, "invoke_ns": T0 + int(start * MS), **same} | {
            "complete_ns": T0 + int(end * MS)
        }

    witness = (vote(0, 0, 5, 1), vote(1, 1, 6, 1))
    vote(0, 5.5, 300, 5)  # client 0's next vote runs far past the collision's frame
    series = scan(history.ops(), T0, 0.3, [Collision(1, witness)])
    with svg.style():
        drawn = str(timeline_plot(series.collisions[0], series, 1))
    assert 'id="timeline-1-cut' in drawn
    witness_only = History("requests")
    for op in history.ops()[:4]:
        witness_only.append(op.process, op.type, op.f, op.value, op.vote_id, op.time_ns)
    uncut = scan(witness_only.ops(), T0, 0.01, [Collision(1, witness)])
    with svg.style():
        assert "-cut" not in str(timeline_plot(uncut.collisions[0], uncut, 1))
