"""When faults strike: the ``--nemesis-schedule`` syntax, parsed and validated.

    at=2,every=4,duration=1.5,count=3

``at``        seconds after the load starts until the first fault
``every``     seconds from one fault's start to the next (omit: the fault's default)
``duration``  seconds each fault lasts: a stall or reset window, or a kill's downtime
``count``     strike at most this many times

Every key is optional; the ones given override the nemesis's own defaults. The load
is bounded, so a schedule is too: faults stop when the load does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from loadtests.errors import UsageError

EXAMPLE = "at=2,every=4,duration=1.5"
KEYS = ("at", "every", "duration", "count")
MAX_SECONDS = 24 * 3600.0
MAX_WINDOW = 3600.0  # the reference app arms a stall for at most an hour


def _fail(text: str, problem: str) -> UsageError:
    return UsageError(
        f"--nemesis-schedule {text!r}: {problem}. Write key=value pairs separated by commas, "
        f"with keys {', '.join(KEYS)}, e.g. {EXAMPLE!r}"
    )


@dataclass(frozen=True)
class Schedule:
    """The first strike, the period between strikes, each fault's length, and a cap."""

    at: float = 1.0
    every: float | None = None
    duration: float = 0.0
    count: int | None = None

    def offsets(self) -> Iterator[float]:
        """Seconds from the start of the load at which to strike, in order."""
        n = 0
        while self.count is None or n < self.count:
            yield self.at + n * (self.every or 0.0)
            n += 1
            if self.every is None:
                return

    def override(self, fields: Mapping[str, float | int]) -> Schedule:
        """This schedule with the keys a --nemesis-schedule string set."""
        every = fields.get("every", self.every)
        count = fields.get("count", self.count)
        return Schedule(
            at=float(fields.get("at", self.at)),
            every=float(every) if every is not None else None,
            duration=float(fields.get("duration", self.duration)),
            count=int(count) if count is not None else None,
        )

    def check(self, name: str) -> None:
        """Refuse a schedule that makes no sense for nemesis ``name``."""
        windowed = name != "kill-restart"
        if windowed and self.duration <= 0:
            raise UsageError(
                f"--nemesis {name} needs duration > 0 in --nemesis-schedule: how many seconds "
                f"each fault window stays open (e.g. {EXAMPLE!r})"
            )
        if self.duration > MAX_WINDOW:
            raise UsageError(
                f"--nemesis-schedule duration={self.duration:g} is too long; "
                f"use at most {MAX_WINDOW:g} seconds"
            )
        if self.every is not None and self.every <= self.duration:
            raise UsageError(
                f"--nemesis-schedule every={self.every:g} must be longer than "
                f"duration={self.duration:g}, or the faults of --nemesis {name} would overlap"
            )


def _number(text: str, key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise _fail(text, f"{key}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise _fail(text, f"{key}={raw!r} must be between 0 and {MAX_SECONDS:g} seconds")
    if key == "every" and value == 0:
        raise _fail(text, "every=0 would strike without pause; give a positive period")
    return value


def _count(text: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise _fail(text, f"count={raw!r} is not a whole number") from None
    if value < 1:
        raise _fail(text, f"count={raw!r} must be at least 1")
    return value


def parse_schedule(text: str) -> dict[str, float | int]:
    """The keys a schedule string sets, validated; raises UsageError naming the bad part."""
    fields: dict[str, float | int] = {}
    if not text.strip():
        raise _fail(text, "it is empty")
    for part in text.split(","):
        key, sep, raw = (piece.strip() for piece in part.partition("="))
        key = key.lower()
        if not sep or not key or not raw:
            raise _fail(text, f"{part.strip()!r} is not key=value")
        if key not in KEYS:
            raise _fail(text, f"unknown key {key!r}")
        if key in fields:
            raise _fail(text, f"{key} is given twice")
        fields[key] = _count(text, raw) if key == "count" else _number(text, key, raw)
    return fields
