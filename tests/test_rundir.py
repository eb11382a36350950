"""The run directory: result.json fields, junit.xml per check, and re-checking a saved run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from loadtests import __version__
from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.check.exitcodes import exit_code_for
from loadtests.check.verdict import CheckResult, Verdict
from loadtests.errors import HistoryError, UsageError
from loadtests.history import History
from loadtests.run.round import finish
from loadtests.run.rundir import (
    SCHEMA,
    junit_xml,
    new_run_dir,
    read_result,
    recheck,
    result_dict,
    write_history,
    write_result,
)
from loadtests.stats import summarize

PID = 4242


def racy_history() -> History:
    """Start, four votes of which two yes votes both returned count 2, stop."""
    history = History("requests")
    start = history.invoke("harness", "start", None)
    history.complete(start, "ok", {"id": 1, "text": "t", "state": "voting", "resolution_id": 1})
    for process, (vote_id, choice, count) in enumerate(
        [("r-0", "yes", 1), ("r-1", "yes", 2), ("r-2", "yes", 2), ("r-3", "no", 1)]
    ):
        inv = history.invoke(process, "vote", {"choice": choice}, vote_id)
        value = {"choice": choice, "count": count, "pid": PID, "resolution_id": 1}
        history.complete(inv, "ok", value)
    stop = history.invoke("harness", "stop", None)
    history.complete(stop, "ok", {"id": 1, "yes": 2, "no": 1, "resolution_id": 1})
    return history


def saved_run(tmp_path: Path, history: History, final: FinalState, **settings: Any) -> Path:
    """Check a history and write its run directory the way `racecheck run` does."""
    check_settings = CheckSettings(choices=("yes", "no"), **settings)
    verdict = check(history.ops(), final, check_settings)
    run_dir = new_run_dir("unit", out=tmp_path / "run")
    write_history(run_dir, history)
    run_settings = {
        "build": "unlocked",
        "server": "waitress",
        "name": "unit",
        "command": "racecheck run --build unlocked",
    }
    finish(run_dir, verdict, final, check_settings, run_settings, summarize(history.ops()))
    return run_dir


def final_state(yes: int, no: int, time_ns: int | None = None) -> FinalState:
    return FinalState({"yes": yes, "no": no}, 1, time_ns, (PID,), "read")


def test_result_json_has_every_documented_field(tmp_path: Path) -> None:
    history = racy_history()
    run_dir = saved_run(tmp_path, history, final_state(2, 1))
    result = json.loads((run_dir / "result.json").read_text())

    for key in (
        "schema",
        "verdict",
        "expected",
        "as_expected",
        "exit_code",
        "reason",
        "counts",
        "lost",
        "phantom",
        "checks",
        "final",
        "gaps",
        "stats",
        "settings",
        "command",
        "racecheck_version",
    ):
        assert key in result, key
    assert result["schema"] == SCHEMA == "racecheck/result/v1"
    assert result["verdict"] == "FAIL" and result["exit_code"] == 1
    assert result["expected"] is None and result["as_expected"] is False
    assert result["reason"]
    assert result["counts"] == {
        "no": {"ok": 1, "fail": 0, "info": 0, "final": 1, "lost": 0, "phantom": 0}
        | {"shortfall": 0, "overwritten": 0, "lower": 1, "upper": 1},
        "yes": {"ok": 3, "fail": 0, "info": 0, "final": 2, "lost": 1, "phantom": 0}
        | {"shortfall": 1, "overwritten": 1, "lower": 3, "upper": 3},
    }
    assert (result["lost"], result["phantom"]) == (1, 0)
    assert (result["shortfall"], result["overwritten"]) == (1, 1)
    checks = {c["name"]: c for c in result["checks"]}
    for check_ in checks.values():
        assert set(check_) >= {"name", "status", "detail", "witnesses"}
    assert checks["bounds"]["status"] == "FAIL"
    assert checks["unique-counts"]["status"] == "FAIL"
    (collision,) = checks["unique-counts"]["witnesses"]
    assert {v["vote_id"] for v in collision["votes"]} == {"r-1", "r-2"}
    assert set(result["final"]) == {"counts", "resolution_id", "time_ns", "pids", "source"}
    assert result["final"]["counts"] == {"yes": 2, "no": 1}
    assert set(result["stats"]) >= {"ops", "started_ns", "ended_ns", "duration_s", "throughput"}
    assert set(result["stats"]["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert result["stats"]["ops"] == len(history)
    assert result["settings"]["build"] == "unlocked"
    assert result["command"] == "racecheck run --build unlocked"
    assert result["racecheck_version"] == __version__
    assert (run_dir / "index.html").is_file()


def test_history_jsonl_is_written_next_to_the_result(tmp_path: Path) -> None:
    history = racy_history()
    run_dir = saved_run(tmp_path, history, final_state(2, 1))
    lines = (run_dir / "history.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [op.to_dict() for op in history.ops()]


# What a check's <testcase> holds, by the check's status.
CHILD = {
    "PASS": [],
    "FAIL": ["failure"],
    "UNKNOWN": ["failure"],
    "ERROR": ["error"],
    "SKIP": ["skipped"],
}


def parse_junit(run_dir: Path) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.parse(run_dir / "junit.xml").getroot()
    assert root.tag == "testsuites"
    (suite,) = root
    return suite, suite.findall("testcase")


def test_junit_has_one_testcase_per_check_with_failures(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path, racy_history(), final_state(2, 1))
    result = read_result(run_dir)
    suite, cases = parse_junit(run_dir)

    assert [c.get("name") for c in cases] == [c["name"] for c in result["checks"]]
    assert suite.get("tests") == str(len(cases))
    by_name = {c.get("name"): c for c in cases}
    for check_ in result["checks"]:
        case = by_name[check_["name"]]
        children = [child.tag for child in case]
        assert children == CHILD[check_["status"]]
    failure = by_name["unique-counts"].find("failure")
    assert failure is not None and failure.get("type") == "FAIL"
    assert "r-2" in (failure.text or "")  # the witnesses are in the body
    failures = sum(c["status"] in ("FAIL", "UNKNOWN") for c in result["checks"])
    assert suite.get("failures") == str(failures) and failures >= 2


def test_junit_of_an_expected_violation_has_no_failing_case(tmp_path: Path) -> None:
    """--expect violation and a proven race: the step exits 0, and so does its junit."""
    run_dir = saved_run(tmp_path, racy_history(), final_state(2, 1), expect="violation")
    result = read_result(run_dir)
    assert result["verdict"] == "FAIL" and result["as_expected"] and result["exit_code"] == 0
    suite, cases = parse_junit(run_dir)
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert not [c.get("name") for c in cases if c.find("failure") is not None]
    proof = next(c for c in cases if c.get("name") == "unique-counts").find("system-out")
    assert proof is not None and "FAIL, as --expect violation asked" in (proof.text or "")
    assert "r-2" in (proof.text or "")  # the witnesses are still there
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {"verdict": "FAIL", "expected": "violation", "as_expected": "True"}


def test_junit_of_an_expected_violation_not_provoked_fails_the_expectation(
    tmp_path: Path,
) -> None:
    history = History()
    invocations = [history.invoke(n, "vote", {"choice": "yes"}, f"p-{n}") for n in range(3)]
    for n, inv in enumerate(invocations):  # overlapping, so the run could have raced
        history.complete(inv, "ok", {"choice": "yes", "count": n + 1, "pid": PID})
    run_dir = saved_run(tmp_path, history, final_state(3, 0), expect="violation")
    suite, cases = parse_junit(run_dir)
    failing = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failing == ["expectation"] and suite.get("failures") == "1"


def test_junit_marks_errors_and_skips() -> None:
    result = {
        "settings": {"name": "x"},
        "checks": [
            {"name": "a", "status": "PASS", "detail": "fine", "witnesses": []},
            {"name": "b", "status": "ERROR", "detail": "harness broke", "witnesses": []},
            {"name": "c", "status": "SKIP", "detail": "not applicable", "witnesses": []},
            {"name": "d", "status": "UNKNOWN", "detail": "no final read", "witnesses": []},
        ],
    }
    root = ET.fromstring(junit_xml(result))
    (suite,) = root
    assert suite.get("name") == "racecheck x"
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "4",
        "1",
        "1",
        "1",
    )
    tags = {case.get("name"): [child.tag for child in case] for case in suite.iter("testcase")}
    assert tags == {"a": [], "b": ["error"], "c": ["skipped"], "d": ["failure"]}
    error = suite.find("testcase[@name='b']/error")
    assert error is not None and error.get("message") == "harness broke"


def test_a_passing_run_rechecks_to_pass(tmp_path: Path) -> None:
    history = History()
    # Three clients' votes in flight together, as a run that could race.
    invs = [history.invoke(n, "vote", {"choice": "yes"}, f"p-{n}") for n in range(3)]
    for n, inv in enumerate(invs):
        history.complete(
            inv, "ok", {"choice": "yes", "count": n + 1, "pid": PID, "resolution_id": 1}
        )
    run_dir = saved_run(tmp_path, history, final_state(3, 0))
    assert read_result(run_dir)["verdict"] == "PASS"

    verdict, old = recheck(run_dir)

    assert verdict.status == "PASS" and exit_code_for(verdict) == 0
    assert old["verdict"] == "PASS"


def test_recheck_reproduces_the_saved_verdict_and_settings(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path, racy_history(), final_state(2, 1), expect="violation")
    saved = read_result(run_dir)

    verdict, old = recheck(run_dir)

    assert old == saved
    assert verdict.status == saved["verdict"] == "FAIL"
    assert verdict.as_expected and exit_code_for(verdict) == saved["exit_code"] == 0
    assert [c.to_dict() for c in verdict.checks] == saved["checks"]
    assert verdict.lost == saved["lost"] == 1


def test_a_harness_error_stays_an_error_when_rechecked(tmp_path: Path) -> None:
    # A refused setup step: the checker never ran, and the history cannot say why.
    history = History("harness")
    inv = history.invoke("harness", "start", None)
    history.complete(inv, "info", {"status": None, "error": "ReadTimeout"})
    detail = "setup step 'start' was not acknowledged"
    verdict = Verdict("ERROR", (CheckResult("setup", "ERROR", detail),), {}, None, False, detail)
    run_dir = new_run_dir("unit", out=tmp_path / "run")
    write_history(run_dir, history)
    settings = CheckSettings(choices=("yes", "no"))
    result = result_dict(
        verdict,
        FinalState(None),
        settings,
        {},
        summarize(history.ops()),
        "",
        exit_code_for(verdict),
    )
    write_result(run_dir, result)

    again, _ = recheck(run_dir)

    assert again.status == "ERROR" and exit_code_for(again) == 4
    assert again.reason == detail and [c.name for c in again.checks] == ["setup"]


def test_recheck_sees_an_edited_history(tmp_path: Path) -> None:
    # Re-checking reads the files, not a cached verdict.
    history = History()
    invs = [history.invoke(n, "vote", {"choice": "yes"}, f"e-{n}") for n in (0, 2)]
    for n, inv in enumerate(invs):
        value = {"choice": "yes", "count": n + 1, "pid": PID, "resolution_id": 1}
        history.complete(inv, "ok", value)
    run_dir = saved_run(tmp_path, history, final_state(2, 0))
    extra = History(ops=history.ops())
    inv = extra.invoke(1, "vote", {"choice": "yes"}, "e-1")
    extra.complete(inv, "ok", {"choice": "yes", "count": 1, "pid": PID, "resolution_id": 1})
    write_history(run_dir, extra)

    verdict, old = recheck(run_dir)

    assert old["verdict"] == "PASS" and verdict.status == "FAIL"


def test_recheck_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a run directory"):
        recheck(tmp_path)


def test_recheck_refuses_bad_json_a_foreign_schema_and_a_missing_history(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text("{oops")
    with pytest.raises(HistoryError, match="not valid JSON"):
        recheck(tmp_path)
    (tmp_path / "result.json").write_text(json.dumps({"schema": "other/v9"}))
    with pytest.raises(HistoryError, match="racecheck/result/v1"):
        recheck(tmp_path)
    (tmp_path / "result.json").write_text(json.dumps({"schema": SCHEMA}))
    with pytest.raises(UsageError, match=r"verdict is missing; .* edited"):
        recheck(tmp_path)
    run_dir = saved_run(tmp_path, racy_history(), final_state(2, 1))
    (run_dir / "history.jsonl").unlink()
    with pytest.raises(HistoryError, match=r"no history\.jsonl"):
        recheck(run_dir)


def test_recheck_reports_a_corrupt_history_with_its_line(tmp_path: Path) -> None:
    run_dir = saved_run(tmp_path, racy_history(), final_state(2, 1))
    path = run_dir / "history.jsonl"
    lines = path.read_text().splitlines()
    lines[3] = lines[3][:10]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(HistoryError, match=r"history\.jsonl:4"):
        recheck(run_dir)


def test_new_run_dir_names_and_creates_the_folder(tmp_path: Path) -> None:
    made = new_run_dir("locked / waitress?", root=tmp_path)
    assert made.is_dir() and made.parent == tmp_path
    assert made.name.endswith("-locked-waitress")
    assert made.name[:8].isdigit() and "T" in made.name
    out = new_run_dir("ignored", out=tmp_path / "a" / "b")
    assert out == tmp_path / "a" / "b" and out.is_dir()
