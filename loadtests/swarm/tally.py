"""What a Locust run shows people: the one verdict line, and the rows of the web UI's Tally tab.

Pure formatting: the locustfile prints the line and serves the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TAB_KEY = "racecheck-tally"
TAB_TITLE = "Tally"
# Single lowercase words: the web UI camel-cases every key it receives.
COLUMNS: Sequence[tuple[str, str]] = (
    ("row", "Choice / check"),
    ("acked", "Acknowledged (ok)"),
    ("server", "Server tally"),
    ("difference", "Server minus acknowledged"),
    ("fail", "Refused (fail)"),
    ("info", "Unknown (info)"),
    ("status", "Status"),
    ("detail", "Detail"),
)


def verdict_line(result: Mapping[str, Any], run_dir: str) -> str:
    """``racecheck verdict: PASS yes ok=812 final=812, no ok=790 final=790 — why — where``."""
    counts = ", ".join(
        f"{choice} ok={c['ok']} final={'-' if c['final'] is None else c['final']}"
        + (f" info={c['info']}" if c["info"] else "")
        + (f" lost={c['lost']}" if c["lost"] else "")
        for choice, c in result.get("counts", {}).items()
    )
    parts = [f"racecheck verdict: {result['verdict']}"]
    if result.get("expected") == "violation":
        parts[0] += " (violation expected: " + (
            "as expected)" if result.get("as_expected") else "not as expected)"
        )
    if counts:
        parts[0] += " " + counts
    if result.get("reason"):
        parts.append(str(result["reason"]))
    parts.append(f"exit {result.get('exit_code')}")
    parts.append(f"run directory: {run_dir}")
    return " — ".join(parts)


def tally_rows(
    acked: Mapping[str, int],
    server: Mapping[str, int] | None,
    *,
    state: str,
    result: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per choice (acknowledged vs the server), then the verdict and each check."""
    rows: list[dict[str, Any]] = []
    final_counts = result.get("counts", {}) if result is not None else {}
    choices = list(dict.fromkeys([*acked, *(server or {}), *final_counts]))
    for choice in choices:
        counts = final_counts.get(choice)
        ok = counts["ok"] if counts else acked.get(choice, 0)
        tally = counts["final"] if counts else (server or {}).get(choice)
        rows.append(
            {
                "row": choice,
                "acked": ok,
                "server": "-" if tally is None else tally,
                # Live figures are sampled at different moments: only final ones compare.
                "difference": tally - ok if counts and tally is not None else "",
                "fail": counts["fail"] if counts else "",
                "info": counts["info"] if counts else "",
                "status": "final" if counts else state,
                "detail": _choice_detail(counts) if counts else "live; exact figures after Stop",
            }
        )
    if result is None:
        return rows
    rows.append(
        {
            "row": "verdict",
            "status": result["verdict"],
            "detail": f"{result.get('reason', '')} (exit {result.get('exit_code')})",
        }
    )
    for check in result.get("checks", ()):
        rows.append({"row": check["name"], "status": check["status"], "detail": check["detail"]})
    return rows


def _choice_detail(counts: Mapping[str, Any]) -> str:
    if counts.get("lost"):
        return f"{counts['lost']} acknowledged votes lost"
    if counts.get("phantom"):
        return f"{counts['phantom']} votes nobody sent"
    return "every acknowledged vote is in the tally" if counts["ok"] == counts["final"] else ""
