"""The report's plain words: what each verdict and check means, for a student."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.check.checker import QUESTIONS

# Each check as the question it answers: from the checker's one list of checks.
CHECK_QUESTIONS = QUESTIONS

VERDICT_MEANING = {
    "PASS": "No lost or duplicated update was seen: every acknowledged vote is in the final tally.",
    "FAIL": "racecheck has proof that acknowledged updates were lost or corrupted.",
    "UNKNOWN": "There is not enough evidence to say either way.",
    "ERROR": "The harness itself could not finish the run, so nothing is known about the app.",
}


# Shown where a number is missing (an en dash, which reads as "none" in a table).
DASH = "\u2013"


def choice_label(choice: str) -> str:
    """YES and NO for the voting app; a target file's counter names as written."""
    return choice.upper() if choice in ("yes", "no") else choice


def number(value: Any) -> str:
    """An integer with thousands separators, or a dash when there is none."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return DASH
    return f"{value:,.0f}"


def votes(n: int, one: str = "was", many: str = "were") -> str:
    """A number of votes and its verb: "1 vote was", "3 votes were"."""
    return f"{number(n)} vote {one}" if n == 1 else f"{number(n)} votes {many}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


@dataclass(frozen=True)
class Headline:
    """The verdict in one bold sentence, then a few plain explanations."""

    title: str
    lines: list[str] = field(default_factory=list)


def _check(result: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for check in result.get("checks") or ():
        if check.get("name") == name:
            return dict(check)
    return {}


def _totals(counts: Mapping[str, Mapping[str, Any]]) -> tuple[int, int | None]:
    acked = sum(int(c.get("ok") or 0) for c in counts.values())
    finals = [c.get("final") for c in counts.values()]
    final = sum(int(f) for f in finals if f is not None) if finals and None not in finals else None
    return acked, final


def _fail(result: Mapping[str, Any]) -> Headline:
    counts = result.get("counts") or {}
    lost = [(choice, int(c.get("lost") or 0)) for choice, c in counts.items() if c.get("lost")]
    collided = _check(result, "unique-counts").get("status") == "FAIL"
    acked, final = _totals(counts)
    if lost:
        total = sum(n for _, n in lost)
        if len(lost) == 1:
            word = "vote was" if total == 1 else "votes were"
            title = f"{number(total)} acknowledged {choice_label(lost[0][0])} {word} lost"
        else:
            parts = ", ".join(f"{number(n)} {choice_label(c)}" for c, n in lost)
            title = f"{number(total)} acknowledged votes were lost ({parts})"  # total >= 2
        if collided:
            title += ": pairs of votes read the same count and both wrote count+1"
        lines = [
            f"The server said OK to {number(acked)} votes, but its final tally counts only "
            f"{number(final)}."
        ]
        if collided:
            lines.append(
                "Two requests handled at the same time both read the counter, both added one "
                "and both wrote it back, so one vote overwrote the other. The timelines below "
                "show such pairs, caught in the act."
            )
        return Headline(title, lines)
    failing = [c for c in result.get("checks") or () if c.get("status") == "FAIL"]
    detail = failing[0]["detail"] if failing else result.get("reason", "")
    return Headline(_sentence(str(detail)), [])


def headline(result: Mapping[str, Any]) -> Headline:
    """The verdict of a run as one sentence and a few explanations."""
    verdict = result.get("verdict", "ERROR")
    counts = result.get("counts") or {}
    reason = str(result.get("reason") or "")
    if verdict == "FAIL":
        found = _fail(result)
    elif verdict == "PASS":
        acked, _ = _totals(counts)
        lines = []
        if _check(result, "unique-counts").get("status") == "PASS":
            lines.append("Every vote returned a count of its own: no two votes collided.")
        lines.append(
            "PASS means that under this load (these clients, this server, this long) every "
            "acknowledged vote is in the final tally and no two votes collided. It is evidence, "
            "not proof, that the app is thread-safe: a race that needs more clients, a longer "
            "run, other timing, other endpoints or a free-threaded interpreter may still be "
            "there. A FAIL, by contrast, is proof: it names the votes that collided."
        )
        found = Headline(f"All {number(acked)} acknowledged votes are in the final tally", lines)
    elif verdict == "UNKNOWN":
        found = Headline("racecheck cannot decide", [_sentence(reason)] if reason else [])
    else:
        found = Headline("The run could not be completed", [_sentence(reason)] if reason else [])
    refused = sum(int(c.get("fail") or 0) for c in counts.values())
    unknown = sum(int(c.get("info") or 0) for c in counts.values())
    if refused:
        found.lines.append(
            f"{votes(refused)} refused: the server said no before changing anything, "
            "so they do not belong in the tally."
        )
    if unknown:
        found.lines.append(
            f"{votes(unknown, 'had', 'had')} an unknown outcome (a timeout, a reset or a 5xx): "
            "they may or may not have counted, so they are never called lost."
        )
    expected = result.get("expected")
    if expected == "violation":
        if verdict == "FAIL":
            found.lines.append(
                "This build is meant to lose votes, and racecheck caught it: that is the "
                "expected outcome (exit code 0)."
            )
        else:
            found.lines.append(
                "This run was expected to show a violation, and it did not: the race was not "
                "provoked, so the run proves nothing about the app."
            )
    return found


def check_question(name: str) -> str:
    """The question a check answers, or its name when it is not a known one."""
    return CHECK_QUESTIONS.get(name, name)
