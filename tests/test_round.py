"""The round's record: evidence on disk first, then a judgement that can crash safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.histories import Timed

from loadtests.check import checker
from loadtests.check.checker import CheckSettings, FinalState
from loadtests.check.verdict import CheckResult
from loadtests.run.round import Round, harness_timeout
from loadtests.target.workload import reference_workload

SETTINGS = CheckSettings(choices=("yes", "no"))


def _load() -> Timed:
    timed = Timed()
    timed.vote(1, "v-1", "yes", 0, 5, count=1)
    timed.vote(2, "v-2", "yes", 1, 6, count=2)
    return timed


def _round(tmp_path: Path) -> Round:
    round_ = Round("http://127.0.0.1:9", reference_workload("locked"), tmp_path)
    round_.final = FinalState({"yes": 2, "no": 0}, 1, 10_000_000, (100,), "read")
    return round_


def test_record_writes_the_history_the_result_the_junit_and_the_report(tmp_path: Path) -> None:
    record = _round(tmp_path).record(_load().ops(), SETTINGS, {"command": "x"}, "requests")
    assert record.verdict.status == "PASS"
    assert record.exit_code == 0
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 4
    assert json.loads((tmp_path / "result.json").read_text())["verdict"] == "PASS"
    assert (tmp_path / "junit.xml").is_file()
    assert (tmp_path / "index.html").is_file()


def test_a_check_that_raises_is_an_error_and_the_history_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ev: object) -> CheckResult:
        raise ZeroDivisionError("a bug in a check")

    bounds = next(c for c in checker.CHECKS if c.name == "bounds")
    patched = tuple(
        c if c is not bounds else checker.Check(c.name, c.question, broken) for c in checker.CHECKS
    )
    monkeypatch.setattr(checker, "CHECKS", patched)
    record = _round(tmp_path).record(_load().ops(), SETTINGS, {}, "requests")
    assert record.verdict.status == "ERROR"
    assert record.exit_code == 4
    assert (tmp_path / "history.jsonl").is_file()
    saved = {c["name"]: c for c in json.loads((tmp_path / "result.json").read_text())["checks"]}
    assert "ZeroDivisionError" in saved["bounds"]["traceback"]


def test_a_refused_setup_is_an_error_that_keeps_the_expectation(tmp_path: Path) -> None:
    round_ = _round(tmp_path)
    round_.setup_error = "setup step 'start' was not acknowledged by http://x: 409"
    expecting = CheckSettings(expect="violation")
    record = round_.record([], expecting, {}, "requests")
    assert (record.verdict.status, record.verdict.expected) == ("ERROR", "violation")
    assert record.verdict.reason.startswith("setup step 'start' was not acknowledged")


def test_the_harness_waits_at_least_the_default_for_its_own_requests() -> None:
    assert harness_timeout(0.5).read == 10.0
    assert harness_timeout(30.0).read == 30.0
    short = harness_timeout(30.0, read_timeout=1.0)
    assert (short.read, short.connect) == (1.0, 1.0)
