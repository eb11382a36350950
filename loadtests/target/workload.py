"""What a driver does to a target, as data: setup steps, counters to hammer, teardown,
and the ops beyond counters (collections to add to, stocks to take from, plain calls).

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
    # Extra request headers (a bearer token, "X-CSRFToken": "{csrf}").
    headers: Mapping[str, str] | None = None

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
            _fill(self.headers, op_id) if self.headers is not None else None,
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

    def for_op(self, op_id: str) -> Matcher:
        """This matcher with ``{op_id}`` filled in (itself when it has no placeholder)."""
        if self.contains is None or OP_ID not in self.contains:
            return self
        return Matcher(self.status, self.contains.replace(OP_ID, op_id))


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
    # Values this step's reply carries for later requests: name -> where (variables.py).
    extract: Mapping[str, Extractor] | None = None


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
    # How much each ``read`` request itself adds to this counter (a page-visit counter
    # read from the page it counts: 1); the harness subtracts its own reads.
    read_increments: int = 0
    # What a 2xx refusal looks like ("sold out" on a 200 page): then a definite fail.
    # Without it, a 2xx that does not match ``ok`` is info (it may have taken effect).
    refused: Matcher | None = None


# Placeholders a target file may use in request templates, matchers and echo values
# (anything else in braces is refused at load time: a typo would be sent literally).
PLACEHOLDERS: frozenset[str] = frozenset({"op_id"})


def fill(value: Any, op_id: str) -> Any:
    """``{op_id}`` filled in throughout a JSON-like value (the public form of _fill)."""
    return _fill(value, op_id) if op_id else value


@dataclass(frozen=True)
class Members:
    """Where a read carries a collection: a JSON path (``*`` maps over a list) or a regex.

    A JSON array gives its items and a JSON object its keys; a regex gives every match of
    its one group. Members are compared as text, so ``7`` and ``"7"`` are the same member.
    """

    json: str | None = None
    regex: str | None = None

    def extract(self, text: str, parsed: Any = None) -> list[str]:
        """Every member, in order and with repeats, or raise ValueError."""
        if self.regex is not None:
            return [str(m) for m in re.findall(self.regex, text)]
        if self.json is None:
            raise ValueError("a collection read needs json or regex")
        nodes = [jsonlib.loads(text) if parsed is None else parsed]
        for part in self.json.split(".") if self.json else ():
            nodes = [child for node in nodes for child in _step_into(node, part, self.json)]
        members: list[str] = []
        for node in nodes:
            if isinstance(node, list):
                members.extend(_member(item) for item in node)
            elif isinstance(node, Mapping):
                members.extend(str(key) for key in node)
            else:
                members.append(_member(node))
        return members


def _step_into(node: Any, part: str, path: str) -> list[Any]:
    if part == "*":
        if isinstance(node, list):
            return list(node)
        if isinstance(node, Mapping):
            return list(node.values())
    elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return [node[int(part)]]
    elif isinstance(node, Mapping) and part in node:
        return [node[part]]
    raise ValueError(f"the reply has no JSON field {path!r}")


def _member(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"a member must be a string or a number, got {value!r}")
    return str(value)


@dataclass(frozen=True)
class Collection:
    """A collection to add to (Jepsen's set): each add carries a value of its own.

    ``element`` is the value an add puts in (``{op_id}`` makes it unique); ``members``
    reads the collection back. ``id`` extracts the id a create's reply hands out (the
    unique-ids check); ``echo`` extracts what the reply says back (the echo check).
    """

    name: str
    add: RequestSpec
    ok: Matcher = field(default_factory=Matcher)
    element: str = OP_ID
    read: RequestSpec | None = None
    members: Members | None = None
    id: Extractor | None = None
    echo: Extractor | None = None


@dataclass(frozen=True)
class Stock:
    """A bounded resource taken one at a time: stock, seats, tickets.

    ``refused`` is text that marks a definite refusal whatever the status (a "sold out"
    page served with 200); ``floor`` is the least the stock may ever read.
    """

    name: str
    decrement: RequestSpec
    read: RequestSpec
    read_value: Extractor
    ok: Matcher = field(default_factory=Matcher)
    refused: str | None = None
    floor: int = 0
    echo: Extractor | None = None


@dataclass(frozen=True)
class Call:
    """A request whose only promises are its reply (echo) and that it does not error."""

    name: str
    request: RequestSpec
    ok: Matcher = field(default_factory=Matcher)
    echo: Extractor | None = None
    # What the reply must carry back (``{op_id}`` by default), when ``echo`` is set.
    echo_value: str = OP_ID


@dataclass(frozen=True)
class Extras:
    """The op kinds beyond counters, and the errors check's settings (all optional)."""

    collections: tuple[Collection, ...] = ()
    stocks: tuple[Stock, ...] = ()
    calls: tuple[Call, ...] = ()
    # Serial requests of the same mix before the load: the errors a single client sees.
    calibrate: int = 0
    # expect = "all-ok": every request of the load must be acknowledged.
    all_ok: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Every op name of these kinds, in order."""
        return (
            tuple(c.name for c in self.collections)
            + tuple(s.name for s in self.stocks)
            + tuple(c.name for c in self.calls)
        )

    def __bool__(self) -> bool:
        return bool(self.names) or self.calibrate > 0 or self.all_ok


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
    # Collections, stocks, plain calls and the errors check (see Extras); none by default.
    extras: Extras = field(default_factory=Extras)

    # One pass of setup, increments and a read before the load (run/preflight.py).
    preflight: bool = False
    # Said after a preflight problem (e.g. what --app drives).
    preflight_hint: str = ""
    # Steps each load client sends in its own session before its load (a form login).
    login: tuple[Step, ...] = ()
    # "per-client": every client its own cookie jar; "shared": one jar for all of them
    # (one user, many tabs), then [[login]] runs once, in the harness's session.
    session: str = "per-client"
    # Filled in by the round after setup, for the load: the variables setup extracted,
    # and the shared cookie jar (session = "shared"). Not part of the description.
    # [[reset]] requests, sent first by the round (commands run before the app starts).
    reset: tuple[Step, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict, compare=False)
    cookie_jar: Any = field(default=None, compare=False, repr=False)

    @property
    def op_names(self) -> tuple[str, ...]:
        """Every op a load client may pick: the counters, then the extras' ops."""
        return self.choices + self.extras.names

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
    def read_increments(self) -> dict[str, int]:
        """What one read of every counter adds to each (only counters whose read counts)."""
        return {c.name: c.read_increments for c in self.counters if c.read_increments}

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
