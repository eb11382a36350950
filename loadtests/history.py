"""The history: an append-only record of every operation, after Jepsen.

Each operation is *invoked*, then *completes* exactly once as ``ok`` (it took
effect), ``fail`` (it definitely did not) or ``info`` (unknown). Drivers on many
threads append to one :class:`History`; Locust workers each write their own file
and :func:`merge` joins them exactly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import msgspec
import orjson

from loadtests.errors import HistoryError
from loadtests.files import atomic_open

OpType = Literal["invoke", "ok", "fail", "info"]
OP_TYPES: frozenset[str] = frozenset({"invoke", "ok", "fail", "info"})
# The fs of the load's own requests: votes (counters), and a target file's adds,
# decrements and calls (loadtests/drive/client.py). Reads and setup are not load.
LOAD_FS: frozenset[str] = frozenset({"vote", "add", "decrement", "call"})
Process = int | str


@dataclass(frozen=True, slots=True)
class Op:
    """One line of a history: an invocation or a completion."""

    index: int
    process: Process
    type: OpType
    f: str
    value: Any
    time_ns: int
    vote_id: str | None = None
    driver: str = "requests"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, with the field order of docs/run-directory.md."""
        return {
            "index": self.index,
            "process": self.process,
            "type": self.type,
            "f": self.f,
            "value": self.value,
            "time_ns": self.time_ns,
            "vote_id": self.vote_id,
            "driver": self.driver,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Op:
        """Build an op from one parsed JSON line, refusing anything malformed."""
        try:
            op_type = raw["type"]
            if op_type not in OP_TYPES:
                raise HistoryError(
                    f"unknown op type {op_type!r}; expected one of {sorted(OP_TYPES)}"
                )
            return cls(
                index=int(raw["index"]),
                process=raw["process"],
                type=op_type,
                f=str(raw["f"]),
                value=raw.get("value"),
                time_ns=int(raw["time_ns"]),
                vote_id=raw.get("vote_id"),
                driver=str(raw.get("driver", "requests")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HistoryError(f"malformed history op {raw!r}: {exc}") from exc


def op_line(op: Op) -> str:
    """One line of history.jsonl: the one format every writer uses."""
    return json.dumps(op.to_dict(), separators=(",", ":")) + "\n"


class Journal(Protocol):
    """Where a History streams its ops instead of keeping them (loadtests/journal.py)."""

    def add(self, op: Op) -> None:
        """Record one op (buffered)."""
        ...

    def flush(self) -> None:
        """Hand what is buffered to the OS."""
        ...

    def close(self) -> None:
        """Flush for good; raise HistoryError if anything could not be written."""
        ...

    def read(self) -> Iterator[Op]:
        """Every op recorded so far."""
        ...


def pair_key(op: Op) -> tuple[Process, str]:
    """The one pairing rule: an invoke and its completion share (process, vote_id or f).

    A process performs one operation at a time, except that the harness may have a
    vote and another op in flight; the vote id tells votes apart.
    """
    return (op.process, op.vote_id or op.f)


Pair = tuple[Op | None, Op | None]


def pairs(ops: Iterable[Op]) -> Iterator[Pair]:
    """Each completion with its invoke, in history order, then each invoke never completed.

    ``(invoke, completion)``; ``(None, completion)`` for a completion without an invoke,
    ``(invoke, None)`` at the end for an invoke that never completed. Streams: only the
    open invokes are held. The checker's scan inlines this rule for speed (see there).
    """
    open_: dict[tuple[Process, str], Op] = {}
    for op in ops:
        key = (op.process, op.vote_id or op.f)
        if op.type == "invoke":
            open_[key] = op
        else:
            yield open_.pop(key, None), op
    for invoke in open_.values():
        yield invoke, None


class History:
    """A thread-safe, append-only list of ops that hands out indexes in order."""

    def __init__(
        self, driver: str = "requests", ops: Iterable[Op] = (), journal: Journal | None = None
    ) -> None:
        self.driver = driver
        self._ops: list[Op] = list(ops)
        self._lock = threading.Lock()
        # With a journal the ops go to disk as they are recorded and are not kept here:
        # memory stays flat in the length of the run (see loadtests/journal.py).
        self.journal = journal
        self._count = len(self._ops)
        # How many ops of each (f, type) were recorded: progress lines read this, not the
        # ops (which, with a journal, are on disk).
        self._kinds: dict[tuple[str, str], int] = {}
        # Open invocations by (process, vote_id or f), so close_pending() can
        # give each in-flight op its `info` completion when a run stops.
        self._open: dict[tuple[Process, str], Op] = {}
        # Invocations that close_pending() completed as info, by id(), with the
        # invocation itself kept alive so its id is not reused: its thread may come back.
        self._abandoned: dict[int, tuple[Op, Op]] = {}
        for op in self._ops:
            self._track(op)
            if journal is not None:
                journal.add(op)
        if journal is not None:
            self._ops = []

    def _track(self, op: Op) -> None:
        key = pair_key(op)
        if op.type == "invoke":
            self._open[key] = op
        else:
            self._open.pop(key, None)

    def append(
        self,
        process: Process,
        op_type: OpType,
        f: str,
        value: Any,
        vote_id: str | None = None,
        time_ns: int | None = None,
        driver: str | None = None,
    ) -> Op:
        """Record one op now (or at ``time_ns``, as another driver's op) and return it."""
        with self._lock:
            return self._append_locked(process, op_type, f, value, vote_id, time_ns, driver)

    def _append_locked(
        self,
        process: Process,
        op_type: OpType,
        f: str,
        value: Any,
        vote_id: str | None,
        time_ns: int | None,
        driver: str | None,
    ) -> Op:
        # Stamped under the lock so index order and time order agree, which
        # keeps each process's order intact when histories are merged by time.
        stamp = time.time_ns() if time_ns is None else time_ns
        op = Op(self._count, process, op_type, f, value, stamp, vote_id, driver or self.driver)
        self._count += 1
        kind = (f, op_type)
        self._kinds[kind] = self._kinds.get(kind, 0) + 1
        if self.journal is None:
            self._ops.append(op)
        else:
            self.journal.add(op)
        self._track(op)
        return op

    def invoke(self, process: Process, f: str, value: Any, vote_id: str | None = None) -> Op:
        """Record that ``process`` is about to perform ``f``."""
        return self.append(process, "invoke", f, value, vote_id)

    def complete(
        self, invocation: Op, op_type: OpType, value: Any, time_ns: int | None = None
    ) -> Op:
        """Record the one completion of ``invocation``.

        If close_pending() already completed it as ``info`` (a straggler whose reply
        came after the run stopped), that completion stands and is returned: a
        second one would break "exactly one completion per invoke".
        """
        if op_type == "invoke":
            raise HistoryError("a completion must be ok, fail or info, not invoke")
        with self._lock:
            abandoned = self._abandoned.get(id(invocation))
            if abandoned is not None and abandoned[0] is invocation:
                return abandoned[1]
            return self._append_locked(
                invocation.process, op_type, invocation.f, value, invocation.vote_id, time_ns, None
            )

    def close_pending(self, reason: str = "still in flight when the run stopped") -> list[Op]:
        """Complete every open invocation as ``info``: it may or may not have taken effect."""
        closed = []
        # One lock for the whole sweep, so no thread completes an op between our
        # seeing it open and closing it.
        with self._lock:
            for inv in list(self._open.values()):
                value = {"error": reason, "status": None}
                if isinstance(inv.value, dict) and "choice" in inv.value:
                    value["choice"] = inv.value["choice"]
                op = self._append_locked(inv.process, "info", inv.f, value, inv.vote_id, None, None)
                self._abandoned[id(inv)] = (inv, op)
                closed.append(op)
        return closed

    def pending(self) -> int:
        """How many invocations have no completion yet."""
        with self._lock:
            return len(self._open)

    def ops(self) -> list[Op]:
        """A snapshot of the ops recorded so far (read back from disk with a journal)."""
        return list(self.stream())

    def stream(self) -> Iterator[Op]:
        """The ops recorded so far, one at a time (from the journal's file, if any)."""
        with self._lock:
            if self.journal is None:
                return iter(list(self._ops))
            self.journal.flush()
            return self.journal.read()

    def kinds(self) -> dict[tuple[str, str], int]:
        """How many ops of each (f, type) were recorded so far (a snapshot)."""
        with self._lock:
            return dict(self._kinds)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Op]:
        return self.stream()

    def write(self, path: Path) -> None:
        """Write the history as JSON lines (atomically: a reader never sees half a file)."""
        with atomic_open(path) as out:
            for op in self.stream():
                out.write(op_line(op))


def _loads(line: bytes) -> Any:
    # orjson parses a line ~5x faster than json, which dominates reading a history.
    try:
        return orjson.loads(line)
    except ValueError:
        # What orjson refuses (NaN, ints beyond 64 bits) json may still accept, as
        # History.write may have written it: the result must not depend on the parser.
        return json.loads(line)


# Op's slot setters, for building ops from a file without the frozen dataclass's
# __init__, which sets each field through object.__setattr__ (3x slower). Op has no
# __post_init__, so the result is the same object Op(...) would make.
_OP_SETTERS = tuple(
    getattr(Op, name).__set__
    for name in ("index", "process", "type", "f", "value", "time_ns", "vote_id", "driver")
)


def _op_from_json(raw: Any) -> Op:
    """Op.from_dict, with a fast path for the well-typed lines History.write produces."""
    if type(raw) is dict:
        index, op_type, f, time_ns = (
            raw.get("index"),
            raw.get("type"),
            raw.get("f"),
            raw.get("time_ns"),
        )
        driver = raw.get("driver", "requests")
        if (
            type(index) is int
            and type(time_ns) is int
            and type(f) is str
            and type(driver) is str
            and op_type in OP_TYPES
            and "process" in raw
        ):
            op = object.__new__(Op)
            s_index, s_process, s_type, s_f, s_value, s_time, s_vote, s_driver = _OP_SETTERS
            s_index(op, index)
            s_process(op, raw["process"])
            s_type(op, op_type)
            s_f(op, f)
            s_value(op, raw.get("value"))
            s_time(op, time_ns)
            s_vote(op, raw.get("vote_id"))
            s_driver(op, driver)
            return op
    return Op.from_dict(raw)


# The fast path of iter_file: msgspec decodes a line straight into an Op, checking every
# field's type as it goes (2-3x the speed of orjson then _op_from_json; measured in
# docs/performance.md). It accepts only what that path turns into the same Op without
# conversion; anything else (a blank line, loose types, an unknown op type, NaN, bad
# UTF-8) raises, and the line goes through the general path, which converts it or
# refuses it with its own message. One difference, on purpose: an integer beyond 64 bits
# is read as the int History.write wrote, where orjson makes it a float.
_DECODE_OP = msgspec.json.Decoder(Op).decode
_FAST_PATH_MISSES = (msgspec.DecodeError, msgspec.ValidationError)


def _op_from_line(line: bytes, path: Path, number: int) -> Op | None:
    """The general path: any JSON json accepts, converted or refused by Op.from_dict."""
    if not line.strip():
        return None
    try:
        raw = _loads(line)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        reason = getattr(exc, "msg", None) or str(exc)
        raise HistoryError(f"{path}:{number}: not JSON ({reason})") from exc
    try:
        return _op_from_json(raw)
    except HistoryError as exc:
        # Say where: a history has thousands of lines.
        raise HistoryError(f"{path}:{number}: {exc}") from exc


def iter_file(path: Path) -> Iterator[Op]:
    """Stream the ops of a history.jsonl file without holding them all."""
    decode, misses = _DECODE_OP, _FAST_PATH_MISSES
    try:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    yield decode(line)
                except misses:
                    op = _op_from_line(line, path, number)
                    if op is not None:
                        yield op
    except OSError as exc:
        raise HistoryError(f"cannot read history {path}: {exc.strerror}") from exc


def load(path: Path, driver: str | None = None) -> History:
    """Load a history file into memory."""
    ops = list(iter_file(path))
    return History(driver or (ops[0].driver if ops else "requests"), ops)


def merge(histories: Iterable[Iterable[Op]], driver: str = "locust") -> History:
    """Join several histories into one, ordered by time and re-indexed.

    The merge is exact: every op of every input appears once, each input's own
    order is kept for equal timestamps, and a vote id seen in two inputs is
    refused, because two workers claiming one vote means the accounting is wrong.
    """
    tagged: list[tuple[int, int, int, Op]] = []
    owner: dict[str, int] = {}
    for source, ops in enumerate(histories):
        for position, op in enumerate(ops):
            if op.vote_id is not None and op.f == "vote":
                first = owner.setdefault(op.vote_id, source)
                if first != source:
                    raise HistoryError(
                        f"vote id {op.vote_id!r} appears in history {first} and history "
                        f"{source}; each worker must use its own vote-id prefix"
                    )
            tagged.append((op.time_ns, source, position, op))
    tagged.sort(key=lambda item: item[:3])
    merged = History(driver)
    merged._ops = [
        Op(i, op.process, op.type, op.f, op.value, op.time_ns, op.vote_id, op.driver)
        for i, (_, _, _, op) in enumerate(tagged)
    ]
    merged._count = len(merged._ops)
    for op in merged._ops:
        merged._track(op)
    return merged
