"""The run directory: history.jsonl, result.json, junit.xml and the HTML report.

See docs/run-directory.md for the format. A saved run can be re-checked
(:func:`recheck`) and re-rendered without the target.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests import __version__
from loadtests.check.checker import CheckSettings, FinalState, check_safe
from loadtests.check.verdict import CheckResult, ChoiceCounts, Verdict
from loadtests.errors import HistoryError, UsageError
from loadtests.files import write_atomic
from loadtests.history import History, Op, iter_file
from loadtests.journal import merge_streams, part_files, read_part
from loadtests.run.claim import read_run_file
from loadtests.run.resultshape import validate

SCHEMA = "racecheck/result/v1"
HISTORY_FILE = "history.jsonl"
DEFAULT_ROOT = Path("reports")


def new_run_dir(name: str, root: Path | None = None, out: Path | None = None) -> Path:
    """``out`` if given, else ``reports/<UTC timestamp>-<name>/``; created empty."""
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
        out = (root or DEFAULT_ROOT) / f"{stamp}-{safe}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def result_dict(
    verdict: Verdict,
    final: FinalState,
    settings: CheckSettings,
    run_settings: Mapping[str, Any],
    stats: Mapping[str, Any],
    command: str,
    exit_code: int,
) -> dict[str, Any]:
    """Everything result.json holds, in a stable order."""
    return {
        "schema": SCHEMA,
        "verdict": verdict.status,
        "expected": verdict.expected,
        "as_expected": verdict.as_expected,
        "exit_code": exit_code,
        "reason": verdict.reason,
        "counts": {choice: c.to_dict() for choice, c in verdict.counts.items()},
        # lost: the proven figure, max(shortfall, overwritten) per choice (never a net that
        # phantoms could cancel); shortfall, overwritten and phantom each as proven.
        "lost": verdict.lost,
        "phantom": verdict.phantom,
        "shortfall": verdict.shortfall,
        "overwritten": verdict.overwritten,
        "checks": [c.to_dict() for c in verdict.checks],
        "final": final.to_dict(),
        "gaps": list(settings.gaps),
        "check_settings": asdict(settings),
        "stats": dict(stats),
        "settings": dict(run_settings),
        "command": command,
        "racecheck_version": __version__,
    }


def junit_xml(result: Mapping[str, Any]) -> str:
    """One test case per check; FAIL and UNKNOWN are failures, ERROR an error.

    Unless the run's outcome was the expected one: under ``--expect violation`` a
    proven race is what the step asked for (it exits 0), so its FAIL checks are
    passing test cases that carry their proof in ``system-out``, and the
    ``expectation`` check is the one that fails when the race was not provoked.
    """
    checks = result["checks"]
    expected = bool(result.get("as_expected")) and result.get("expected") == "violation"

    def failed(status: str) -> bool:
        return status in ("FAIL", "UNKNOWN") and not expected

    suite = ET.Element(
        "testsuite",
        name=f"racecheck {result['settings'].get('name', '')}".strip(),
        tests=str(len(checks)),
        failures=str(sum(failed(c["status"]) for c in checks)),
        errors=str(sum(c["status"] == "ERROR" for c in checks)),
        skipped=str(sum(c["status"] == "SKIP" for c in checks)),
    )
    properties = ET.SubElement(suite, "properties")
    for key in ("verdict", "expected", "as_expected"):
        ET.SubElement(properties, "property", name=key, value=str(result.get(key)))
    for c in checks:
        case = ET.SubElement(suite, "testcase", classname="racecheck", name=c["name"])
        body = json.dumps(c["witnesses"], indent=2) if c["witnesses"] else c["detail"]
        if failed(c["status"]):
            ET.SubElement(case, "failure", type=c["status"], message=c["detail"]).text = body
        elif c["status"] == "ERROR":
            ET.SubElement(case, "error", type="ERROR", message=c["detail"]).text = body
        elif c["status"] == "SKIP":
            ET.SubElement(case, "skipped", message=c["detail"])
        elif c["status"] in ("FAIL", "UNKNOWN"):
            # An expected violation: the proof stays in the report, as output, not a failure.
            said = f"{c['status']}, as --expect violation asked: {c['detail']}"
            ET.SubElement(case, "system-out").text = f"{said}\n{body}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def write_result(run_dir: Path, result: Mapping[str, Any]) -> None:
    """Write result.json and junit.xml (the round draws index.html from them afterwards)."""
    # Each whole or not at all: CI never reads half a result, a full disk leaves no .tmp.
    write_atomic(run_dir / "result.json", json.dumps(result, indent=2) + "\n")
    write_atomic(run_dir / "junit.xml", junit_xml(result))


def write_history(run_dir: Path, history: History, name: str = "history.jsonl") -> Path:
    """Write history.jsonl (or another history, e.g. preflight.jsonl) into the run directory."""
    path = run_dir / name
    history.write(path)
    return path


def read_result(run_dir: Path) -> dict[str, Any]:
    """Load result.json, with a message that says what to do when it is not a run."""
    path = run_dir / "result.json"
    if not path.is_file():
        raise UsageError(
            f"{run_dir} is not a run directory (no result.json); pass a folder that "
            "`racecheck run` wrote, e.g. reports/<timestamp>-<name>"
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise HistoryError(f"{path} has schema {schema!r}; expected {SCHEMA!r}")
    return validate(data, path)


def _harness_error(result: Mapping[str, Any]) -> Verdict | None:
    """The saved verdict, if it is an ERROR that the checker never produced.

    When the harness itself failed (a setup step refused, say), the checker never ran
    and the history cannot show why: re-checking it would turn ERROR into UNKNOWN.
    The checker always reports history-complete (or, when it crashed, "checker"), so
    the absence of both marks such a run.
    """
    checks = [CheckResult.from_dict(c) for c in result.get("checks") or []]
    if result.get("verdict") != "ERROR" or any(
        c.name in ("history-complete", "checker") for c in checks
    ):
        return None
    counts = {
        str(choice): ChoiceCounts.from_dict(c) for choice, c in (result.get("counts") or {}).items()
    }
    return Verdict(
        "ERROR",
        tuple(checks),
        counts,
        result.get("expected"),
        bool(result.get("as_expected", False)),
        str(result.get("reason", "")),
    )


def _check_settings(raw: Mapping[str, Any]) -> CheckSettings:
    """CheckSettings from their saved form (result.json's or run.json's check_settings)."""
    return CheckSettings(
        expect=raw.get("expect"),
        choices=tuple(raw.get("choices", ())),
        shared_state=bool(raw.get("shared_state", False)),
        workers=raw.get("workers"),
        gaps=tuple(raw.get("gaps", ())),
        interrupted=raw.get("interrupted"),
        recycle_after=int(raw.get("recycle_after") or 0),
        reply=str(raw.get("reply", "written")),  # older runs predate the key: written replies
    )


class _FinalReadSeen:
    """Passes the ops through, noting whether the harness's final read is among them."""

    def __init__(self) -> None:
        self.seen = False

    def watch(self, ops: Iterable[Op]) -> Iterator[Op]:
        for op in ops:
            if op.process == "harness" and op.f == "read" and op.type != "invoke":
                self.seen = True
            yield op


CUT = (
    "the history ends before the run did (it holds no final read, or operations "
    "with no completion): it was cut short, so only what it proves by itself stands"
)
KILLED = (
    "the run never finished (killed, or its machine stopped): there is no result.json "
    "and no final tally, so it is judged on the operations recorded before it stopped"
)


def _history(run_dir: Path) -> Iterator[Op]:
    """history.jsonl, or for a run that died before writing it, its parts merged."""
    path = run_dir / HISTORY_FILE
    if path.is_file():
        return iter_file(path)
    parts = part_files(run_dir)
    if not parts:
        raise HistoryError(f"{run_dir} has no history.jsonl; the run cannot be re-checked")
    return merge_streams([read_part(p) for p in parts])


def recheck(run_dir: Path) -> tuple[Verdict, dict[str, Any]]:
    """Check a saved run again from its files alone; returns the verdict and old result.

    A run that was killed has no result.json: its run.json and the parts it streamed
    are judged instead, with no final tally (UNKNOWN unless the history itself proves a
    race). A history cut short (no final read, or ops never completed) is judged as if
    the final tally had never been read, so it can never FAIL on votes it lost itself.
    """
    if not (run_dir / "result.json").is_file() and (started := read_run_file(run_dir)):
        settings = replace(_check_settings(started.get("check_settings") or {}), interrupted=KILLED)
        final = FinalState(None)
        verdict = _why_unknown(check_safe(_history(run_dir), final, settings))
        run_settings = dict(started.get("settings") or {})
        result = result_dict(verdict, final, settings, run_settings, {}, "", 0)
        return verdict, {**result, "verdict": "none (the run never finished)"}
    result = read_result(run_dir)
    harness_error = _harness_error(result)
    if harness_error is not None:
        return harness_error, result
    settings = _check_settings(result.get("check_settings") or {})
    # check_safe: a check that raises is an ERROR with its traceback, and the history stays.
    final = FinalState.from_dict(result.get("final"))
    # Runs that racecheck run wrote since it streams (they carry a run id) always end with
    # the harness's final read; hand-built and older histories are judged as before.
    strict = bool((result.get("settings") or {}).get("run_id")) and final.counts is not None
    seen = _FinalReadSeen()
    ops = seen.watch(_history(run_dir)) if strict else _history(run_dir)
    verdict = check_safe(ops, final, settings)
    complete = verdict.check("history-complete") if _has(verdict, "history-complete") else None
    cut = (strict and not seen.seen) or (complete is not None and complete.status == "UNKNOWN")
    if cut:
        settings = replace(settings, interrupted=CUT)
        verdict = _why_unknown(check_safe(_history(run_dir), FinalState(None), settings))
    return verdict, result


def _has(verdict: Verdict, name: str) -> bool:
    return any(c.name == name for c in verdict.checks)


def _why_unknown(verdict: Verdict) -> Verdict:
    """An UNKNOWN verdict of a cut or killed run says so first (as the round does)."""
    if verdict.status != "UNKNOWN" or not _has(verdict, "interrupted"):
        return verdict
    return replace(verdict, reason=verdict.check("interrupted").detail)
