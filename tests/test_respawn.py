"""One server process configured, several pids answered: a respawn, UNKNOWN, never a split."""

from __future__ import annotations

from test_apache import _votes

from loadtests.check.checker import CheckSettings, FinalState, check


def test_a_respawned_single_worker_is_unknown_naming_the_pids() -> None:
    final = FinalState({"yes": 1}, 1, 100, (303,))
    verdict = check(_votes([301, 302, 303]), final, CheckSettings(choices=("yes",), workers=1))
    assert verdict.status == "UNKNOWN"
    recycle = verdict.check("recycle")
    assert "the server restarted during the run" in recycle.detail
    assert "301, 302, 303" in recycle.detail
    assert [w["pid"] for w in recycle.witnesses] == [301, 302, 303]
    assert verdict.check("split-state").status == "UNKNOWN"  # not proof of a split
    assert verdict.reason == recycle.detail


def test_several_workers_answering_are_still_a_split() -> None:
    final = FinalState({"yes": 1}, 1, 100, (303,))
    verdict = check(_votes([301, 302, 303]), final, CheckSettings(choices=("yes",), workers=3))
    assert verdict.status == "FAIL"
    assert verdict.check("split-state").status == "FAIL"


def test_one_pid_throughout_needs_no_word() -> None:
    final = FinalState({"yes": 3}, 1, 100, (301,))
    ops = _votes([301, 301, 301])
    verdict = check(ops, final, CheckSettings(choices=("yes",), workers=1))
    assert all(r.name != "recycle" for r in verdict.checks)
