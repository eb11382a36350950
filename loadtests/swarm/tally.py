"""What a Locust run shows people: the one verdict line, and the rows of the web UI's Tally tab.

Pure formatting: the locustfile prints the line and serves the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.swarm.live import LiveView

TAB_KEY = "racecheck-tally"
TAB_TITLE = "Tally"
COLUMNS: Sequence[tuple[str, str]] = (
    ("row", "Choice / check"),
    ("acked", "Acknowledged before the read"),
    ("server", "Server tally"),
    ("difference", "Tally minus acknowledged"),
    ("lost", "Proven lost"),
    ("collisions", "Duplicate counts"),
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
    live: LiveView,
    collisions: Mapping[str, Any] | None,
    *,
    state: str,
    result: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per choice (the latest read against its bounds), then the verdict and checks.

    Each row has a ``tone``: ``bad`` when it proves a loss, ``good`` when it proves
    none, ``""`` when it proves nothing either way.
    """
    if result is not None and result.get("counts"):
        rows = [_final_row(choice, c) for choice, c in result["counts"].items()]
    else:
        rows = _live_rows(live, collisions or {}, state)
    if result is None:
        return rows
    verdict = str(result["verdict"])
    rows.append(
        {
            "row": "verdict",
            "status": verdict,
            "detail": f"{result.get('reason', '')} (exit {result.get('exit_code')})",
            "tone": _TONES.get(verdict, ""),
        }
    )
    for check in result.get("checks", ()):
        status = str(check["status"])
        rows.append(
            {
                "row": check["name"],
                "status": status,
                "detail": check["detail"],
                "tone": _TONES.get(status, ""),
            }
        )
    return rows


_TONES = {"PASS": "good", "FAIL": "bad", "ERROR": "bad", "UNKNOWN": "unknown"}


def _live_rows(live: LiveView, collisions: Mapping[str, Any], state: str) -> list[dict[str, Any]]:
    peek = live.latest
    by_choice: Mapping[str, int] = collisions.get("by_choice", {})
    choices = list(dict.fromkeys([*(peek.tally if peek else {}), *live.proven_lost, *by_choice]))
    rows = []
    for choice in choices:
        tally = peek.tally.get(choice) if peek is not None else None
        lower = peek.lower.get(choice, 0) if peek is not None else None
        lost = live.proven_lost.get(choice, 0)
        duplicates = by_choice.get(choice, 0)
        phantom = peek.phantom(choice) if peek is not None else 0
        if lost or duplicates:
            parts = []
            if lost:
                parts.append(f"a read saw {lost} fewer votes than were acknowledged before it")
            if duplicates:
                parts.append(f"{duplicates} acknowledged votes were told a count already given")
            status, tone, detail = "LOST", "bad", "; ".join(parts) + ": proven lost updates"
        elif phantom:
            status, tone = "PHANTOM", "bad"
            detail = f"the tally holds {phantom} more votes than had been sent"
        else:
            status, tone = state, ""
            detail = "no loss proven so far (the verdict comes after Stop)"
        rows.append(
            {
                "row": choice,
                "acked": "-" if lower is None else lower,
                "server": "-" if tally is None else tally,
                "difference": "" if tally is None or lower is None else tally - lower,
                "lost": lost,
                "collisions": duplicates,
                "fail": "",
                "info": "",
                "status": status,
                "detail": detail,
                "tone": tone,
            }
        )
    return rows


def _final_row(choice: str, counts: Mapping[str, Any]) -> dict[str, Any]:
    final = counts.get("final")
    lost = int(counts.get("lost") or 0)
    return {
        "row": choice,
        "acked": counts["ok"],
        "server": "-" if final is None else final,
        "difference": "" if final is None else final - counts["ok"],
        "lost": lost,
        "collisions": counts.get("overwritten", ""),
        "fail": counts["fail"],
        "info": counts["info"],
        "status": "final",
        "detail": _choice_detail(counts),
        "tone": "bad" if lost or counts.get("phantom") else "good" if final is not None else "",
    }


def _choice_detail(counts: Mapping[str, Any]) -> str:
    if counts.get("lost"):
        return f"{counts['lost']} acknowledged votes lost"
    if counts.get("phantom"):
        return f"{counts['phantom']} votes nobody sent"
    return "every acknowledged vote is in the tally" if counts["ok"] == counts["final"] else ""
