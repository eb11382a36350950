"""Evidence under preemption: equal counts prove a lost update only when replies are written.

Kept apart from tests/test_checker.py on purpose: check/ is being rewritten elsewhere, and
this is the one addition (CheckSettings.reply) that the rewrite has to keep.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.errors import TargetFileError
from loadtests.history import History
from loadtests.target import targetfile

TEXTBOOK = Path(__file__).parent / "targets" / "textbook"


def rereading_history() -> History:
    """Two tickets taken, nothing lost, both replies read back 2 (the second had landed)."""
    history = History("requests")
    for clock, vote_id in ((1, "a"), (2, "b")):
        history.append(0, "invoke", "vote", {"choice": "tickets"}, vote_id, clock * 1000)
    for clock, vote_id in ((3, "a"), (4, "b")):
        invoke = next(op for op in history.ops() if op.vote_id == vote_id)
        history.complete(invoke, "ok", {"choice": "tickets", "count": 2}, clock * 1000)
    return history


def test_written_replies_make_equal_counts_a_lost_update() -> None:
    verdict = check(rereading_history().ops(), FinalState({"tickets": 2}, time_ns=10_000))
    assert verdict.check("unique-counts").status == "FAIL"


def test_reread_replies_make_equal_counts_no_proof() -> None:
    settings = CheckSettings(choices=("tickets",), reply="reread")
    verdict = check(rereading_history().ops(), FinalState({"tickets": 2}, time_ns=10_000), settings)
    assert verdict.check("unique-counts").status == "SKIP"
    assert "reread" in verdict.check("unique-counts").detail
    assert verdict.status == "PASS"  # the bounds hold: nothing was lost


def test_reread_replies_still_fail_on_the_bounds() -> None:
    settings = CheckSettings(choices=("tickets",), reply="reread")
    verdict = check(rereading_history().ops(), FinalState({"tickets": 1}, time_ns=10_000), settings)
    assert verdict.status == "FAIL"
    assert verdict.check("bounds").status == "FAIL"


def test_a_target_file_says_which_replies_it_has() -> None:
    assert targetfile.load(TEXTBOOK / "tickets.toml").workload.reply == "reread"
    assert targetfile.load(TEXTBOOK / "hits_locked.toml").workload.reply == "written"


def test_a_target_file_refuses_an_unknown_reply_kind(tmp_path: Path) -> None:
    text = (TEXTBOOK / "tickets.toml").read_text().replace('"reread"', '"maybe"')
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(TargetFileError, match=r"counters\[0\]\.reply"):
        targetfile.load(path)


def test_a_target_file_reads_preempt_and_its_knobs(tmp_path: Path) -> None:
    loaded = targetfile.load(TEXTBOOK / "hits_preempt.toml")
    assert loaded.preempt is not None and loaded.preempt.rate == 1.0
    text = (TEXTBOOK / "hits_racy.toml").read_text()
    path = tmp_path / "knob.toml"
    path.write_text(text.replace("threads = 16", "threads = 16\npreempt_rate = 0.5"))
    with pytest.raises(TargetFileError, match="only applies with preempt = true"):
        targetfile.load(path)
    path.write_text(text.replace("threads = 16", "threads = 16\npreempt = true\npreempt_rate = 2"))
    with pytest.raises(TargetFileError, match="preempt rate 2"):
        targetfile.load(path)


def test_a_saved_run_is_rechecked_with_its_reply_kind(tmp_path: Path) -> None:
    from loadtests.run.rundir import recheck, result_dict, write_history, write_result

    history = rereading_history()
    settings = CheckSettings(choices=("tickets",), reply="reread")
    final = FinalState({"tickets": 2}, time_ns=10_000)
    verdict = check(history.ops(), final, settings)
    write_history(tmp_path, history)
    write_result(tmp_path, result_dict(verdict, final, settings, {}, {}, "", 0))
    again, _ = recheck(tmp_path)
    assert again.status == "PASS"
    assert again.check("unique-counts").status == "SKIP"
