"""What a driver does to a target, as data: setup steps, counters to hammer, teardown.

The reference voting app is described with the same vocabulary as a user's
target file (see :mod:`loadtests.target.targetfile`), so one client code path serves
both: a "vote" is any counter increment, and its ``choice`` is the counter name.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests import defaults
from loadtests.defaults import ReplyKind

OP_ID = "{op_id}"


def _fill(value: Any, op_id: str) -> Any:
    """Replace ``{op_id}`` in every string of a JSON-like value."""
    if isinstance(value, str):
        return value.replace(OP_ID, op_id)
    if isinstance(value, Mapping):
        return {k: _fill(v, op_id) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fill(v, op_id) for v in value]
    return value


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request: method, path and an optional JSON or form body."""

    method: str
    path: str
    json: Any = None
    form: Mapping[str, str] | None = None
    # The op this request performs, sent as the X-Racecheck-Op header so that the target's
    # --preempt tracer can say which request ran which lines ("": none).
    op_id: str = ""

    def render(self, op_id: str = "") -> RequestSpec:
        """This request with ``{op_id}`` filled in and the op tagged, ready to send."""
        if not op_id:
            return self
        return RequestSpec(
            self.method,
            _fill(self.path, op_id),
            _fill(self.json, op_id),
            _fill(self.form, op_id) if self.form is not None else None,
            op_id,
        )


@dataclass(frozen=True)
class Matcher:
    """What an acknowledgement looks like: a status (default any 2xx) and a text."""

    status: int | None = None
    contains: str | None = None

    def matches(self, status: int, text: str) -> bool:
        """Whether a 2xx reply is an acknowledgement rather than a refusal in disguise."""
        if self.status is not None and status != self.status:
            return False
        return self.contains is None or self.contains in text


@dataclass(frozen=True)
class Extractor:
    """Where a reply carries a value: a dotted JSON path, or a regex with one group."""

    json: str | None = None
    regex: str | None = None

    def extract(self, text: str, parsed: Any = None) -> Any:
        """The value, or raise ValueError when the reply does not carry it."""
        if self.json is not None:
            try:
                node = jsonlib.loads(text) if parsed is None else parsed
            except RecursionError:
                # A hostile reply nested thousands deep: malformed, never a crash.
                raise ValueError("the reply is JSON nested too deep to read") from None
            for part in self.json.split("."):
                if isinstance(node, list) and part.isdigit():
                    node = node[int(part)]
                elif isinstance(node, Mapping) and part in node:
                    node = node[part]
                else:
                    raise ValueError(f"the reply has no JSON field {self.json!r}")
            return node
        if self.regex is not None:
            found = re.search(self.regex, text)
            if found is None:
                raise ValueError(f"the reply does not match {self.regex!r}")
            return found.group(1)
        raise ValueError("an extractor needs json or regex")

    def extract_int(self, text: str, parsed: Any = None) -> int:
        """The value as an int (bools are refused: ``true`` is not a count)."""
        value = self.extract(text, parsed)
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ValueError(f"expected an integer, got {value!r}")


@dataclass(frozen=True)
class Step:
    """A setup or teardown request, sent once by the harness itself."""

    f: str
    request: RequestSpec
    ok: Matcher = field(default_factory=Matcher)
    resolution: Extractor | None = None


@dataclass(frozen=True)
class Counter:
    """One counter to hammer: how to increment it, recognise the ack, and read it back."""

    name: str
    increment: RequestSpec
    read: RequestSpec
    read_value: Extractor
    ok: Matcher = field(default_factory=Matcher)
    returns: Extractor | None = None
    pid: Extractor | None = None
    resolution: Extractor | None = None
    read_resolution: Extractor | None = None
    read_pid: Extractor | None = None
    # What ``returns`` carries: the value this handler wrote, or a re-read (see defaults).
    reply: ReplyKind = defaults.REPLY


@dataclass(frozen=True)
class Workload:
    """Everything a run does to a target."""

    name: str
    counters: tuple[Counter, ...]
    setup: tuple[Step, ...] = ()
    teardown: tuple[Step, ...] = ()
    # True when the target keeps its counts outside process memory (a database),
    # so several server processes answering is not by itself split state.
    shared_state: bool = False
    health_path: str | None = "/health"
    # Every Nth op of a load client reads every counter (0: only the final read).
    read_every: int = defaults.READ_EVERY

    def counter(self, name: str) -> Counter:
        """The counter called ``name``."""
        for counter in self.counters:
            if counter.name == name:
                return counter
        raise KeyError(name)

    @property
    def reply(self) -> ReplyKind:
        """ "reread" when any counter's reply re-reads: then equal counts prove nothing."""
        return "reread" if any(c.reply == "reread" for c in self.counters) else defaults.REPLY

    @property
    def choices(self) -> tuple[str, ...]:
        """The counter names, in order."""
        return tuple(c.name for c in self.counters)


def _reference_counter(choice: str) -> Counter:
    return Counter(
        name=choice,
        increment=RequestSpec("POST", "/api/votes", json={"choice": choice, "vote_id": OP_ID}),
        ok=Matcher(status=200),
        returns=Extractor(json="count"),
        pid=Extractor(json="pid"),
        resolution=Extractor(json="resolution_id"),
        read=RequestSpec("GET", "/api/tally"),
        read_value=Extractor(json=choice),
        read_resolution=Extractor(json="resolution.id"),
        read_pid=Extractor(json="pid"),
    )


def reference_workload(build: str = "locked", text: str = "racecheck load test") -> Workload:
    """The classroom voting app's JSON API: start, vote yes/no, stop, read the tally."""
    return Workload(
        name=f"voting-{build}",
        counters=(_reference_counter("yes"), _reference_counter("no")),
        setup=(
            Step(
                "start",
                RequestSpec("POST", "/api/resolutions", json={"text": text}),
                Matcher(status=201),
                resolution=Extractor(json="id"),
            ),
        ),
        teardown=(
            Step(
                "stop",
                RequestSpec("POST", "/api/resolutions/current/stop"),
                Matcher(status=200),
                resolution=Extractor(json="id"),
            ),
        ),
        shared_state=build == "sqlite",
    )
