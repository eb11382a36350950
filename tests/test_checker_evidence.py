"""Malformed evidence is ERROR (never FAIL, never a traceback); a check that raises is ERROR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.histories import Timed, assert_witnessed, final, judge

from loadtests.check import checker
from loadtests.check.ackstore import CountIndex
from loadtests.check.checker import CheckSettings, check_safe
from loadtests.check.verdict import CheckResult


def acked(n: int) -> Timed:
    t = Timed()
    for i in range(n):
        t.vote(i, f"v{i}", "yes", 10 * i, 10 * i + 5, count=i + 1)
    return t


@pytest.mark.parametrize("bad", [True, False, 2.5, 3.0, "3", [1], {"n": 1}, -1])
def test_a_malformed_returned_count_is_an_error_naming_the_op_and_field(bad: Any) -> None:
    t = acked(2)
    t.vote(7, "bad", "yes", 100, 105, count=bad)
    t.vote(8, "dup", "yes", 110, 115, count=1 if bad is True else 3)  # True == 1 must not collide
    verdict = judge(t, final({"yes": 4}))
    assert verdict.status == "ERROR"
    formed = verdict.check("well-formed")
    assert formed.status == "ERROR"
    [witness] = formed.witnesses
    assert witness["field"] == "count" and witness["index"] == 5
    assert "op 5, field count" in formed.detail
    assert verdict.reason == formed.detail


@pytest.mark.parametrize("bad", [True, 2.0, 2.5, "2", [2], {"n": 2}, -1, 10**30 * 1.0])
def test_a_malformed_final_tally_is_an_error(bad: Any) -> None:
    verdict = judge(acked(2), final({"yes": bad}))
    assert verdict.status == "ERROR"
    formed = verdict.check("well-formed")
    assert formed.witnesses[0]["field"] == "final.counts.yes"
    assert verdict.check("bounds").status == "UNKNOWN"  # no usable tally, no verdict on it


@pytest.mark.parametrize("bad", ["yes=2", [2], 2, True])
def test_a_final_read_that_is_not_an_object_is_an_error(bad: Any) -> None:
    verdict = judge(acked(2), final(bad))
    assert verdict.status == "ERROR"
    assert verdict.check("well-formed").witnesses[0]["field"] == "final.counts"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("not a dict", "value"),
        ({"counts": [1]}, "counts"),
        ({"counts": {"yes": "1"}}, "counts.yes"),
        ({"counts": {"yes": -3}}, "counts.yes"),
        ({"counts": {"yes": 1}, "resolution_id": "one"}, "resolution_id"),
    ],
)
def test_a_malformed_read_during_the_run_is_an_error(value: Any, field: str) -> None:
    t = acked(2)
    t.read("reader", 100, 110, {"yes": 2})
    ops = t.ops()
    read_ok = ops[-1]
    ops[-1] = type(read_ok)(
        read_ok.index, read_ok.process, "ok", "read", value, read_ok.time_ns, None
    )
    verdict = checker.check(ops, final({"yes": 2}), CheckSettings(choices=("yes",)))
    assert_witnessed(verdict)
    assert verdict.status == "ERROR"
    assert verdict.check("well-formed").witnesses[0]["field"] == field


@pytest.mark.parametrize("value", ["ok", [1, 2], 7])
def test_an_acknowledged_vote_whose_value_is_not_an_object_is_an_error(value: Any) -> None:
    t = acked(2)
    ops = t.ops()
    last = ops[-1]
    ops[-1] = type(last)(last.index, last.process, "ok", "vote", value, last.time_ns, last.vote_id)
    verdict = checker.check(ops, final({"yes": 2}), CheckSettings(choices=("yes",)))
    assert verdict.status == "ERROR"
    assert verdict.check("well-formed").witnesses[0]["field"] == "value"


@pytest.mark.parametrize(("field", "bad"), [("pid", "p1"), ("pid", [1]), ("resolution_id", {})])
def test_unhashable_or_odd_ids_are_errors_not_tracebacks(field: str, bad: Any) -> None:
    t = acked(1)
    t.vote(3, "odd", "yes", 50, 55, count=2, **{field: bad})
    verdict = judge(t, final({"yes": 2}))
    assert verdict.status == "ERROR"
    assert verdict.check("well-formed").witnesses[0]["field"] == field


def test_a_huge_count_is_never_allocated_by_value() -> None:
    t = acked(3)
    t.vote(9, "huge", "yes", 100, 105, count=10**12)
    verdict = judge(t, final({"yes": 4}))
    assert verdict.status != "ERROR"  # a big int is a count; it just proves nothing here
    index = CountIndex()
    slot = 0
    for count in [10**12, 1, 2 * 10**12, *(2**k for k in range(20, 62))]:
        assert index.first(count, slot) is None
        slot += 1
    # Counts that double at every reply would grow a dense array to 2**62 slots.
    assert index.dense_size() <= 4 * slot + 1024 + 64
    assert index.first(2**40, 99) is not None  # still found


def _raise(ev: object) -> CheckResult:
    raise ZeroDivisionError("a bug in a check")


def _with_a_raising_check(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = next(c for c in checker.CHECKS if c.name == "unique-counts")
    broken = checker.Check(spec.name, spec.question, _raise, spec.rank)
    checks = tuple(broken if c is spec else c for c in checker.CHECKS)
    monkeypatch.setattr(checker, "CHECKS", checks)


def test_check_safe_turns_a_raising_check_into_an_error_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_a_raising_check(monkeypatch)
    verdict = check_safe(acked(3).ops(), final({"yes": 3}), CheckSettings(choices=("yes",)))
    assert verdict.status == "ERROR"
    crashed = verdict.check("unique-counts")
    assert crashed.status == "ERROR"
    assert crashed.traceback is not None and "ZeroDivisionError" in crashed.traceback
    assert "\n" not in crashed.detail
    assert crashed.to_dict()["traceback"] == crashed.traceback
    assert verdict.check("bounds").status == "PASS"  # the other checks still ran


def test_check_safe_turns_a_crash_of_the_scan_into_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checker, "gather", lambda *a: 1 / 0)
    verdict = check_safe([], final({"yes": 0}))
    assert verdict.status == "ERROR"
    assert verdict.checks[0].name == "checker"
    assert "ZeroDivisionError" in (verdict.checks[0].traceback or "")


def test_racecheck_check_exits_4_when_a_check_raises_and_keeps_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loadtests.cli.run import check_cmd

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    history = run_dir / "history.jsonl"
    history.write_text(
        "".join(json.dumps(op.to_dict()) + "\n" for op in acked(3).ops()), encoding="utf-8"
    )
    result = {
        "schema": "racecheck/result/v1",
        "verdict": "PASS",
        "final": final({"yes": 3}).to_dict(),
        "check_settings": {"choices": ["yes"]},
        "checks": [],
        "counts": {},
        "settings": {},
    }
    (run_dir / "result.json").write_text(json.dumps(result), encoding="utf-8")
    _with_a_raising_check(monkeypatch)
    outcome = CliRunner().invoke(check_cmd, [str(run_dir)])
    assert outcome.exit_code == 4, outcome.output
    assert "Traceback" not in outcome.output
    assert "raised ZeroDivisionError" in outcome.output.replace("\n", " ")
    assert history.is_file()
