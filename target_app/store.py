"""The vote store: one interface, an in-memory and a SQLite implementation."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Final, Literal, Protocol, get_args

from target_app import db

Choice = Literal["yes", "no"]
CHOICES: Final[tuple[Choice, ...]] = get_args(Choice)
State = Literal["voting", "closed"]
Outcome = Literal["passes", "fails", "tied"]


class StoreConflict(Exception):
    """The operation does not fit the current state; nothing was changed."""


class VoteInProgress(StoreConflict):
    """A resolution cannot start while another is being voted on."""


class NoVoteInProgress(StoreConflict):
    """There is nothing to vote on or to stop."""


@dataclass(frozen=True)
class Resolution:
    """A resolution as people see it: its id, its text and whether voting is open."""

    id: int
    text: str
    state: State


@dataclass(frozen=True)
class Receipt:
    """An acknowledged vote: the count this handler computed and wrote."""

    resolution_id: int
    text: str
    choice: Choice
    count: int


@dataclass(frozen=True)
class Result:
    """A closed resolution with its final counts."""

    id: int
    text: str
    yes: int
    no: int

    @property
    def outcome(self) -> Outcome:
        """Whether the ayes have it."""
        if self.yes > self.no:
            return "passes"
        return "fails" if self.yes < self.no else "tied"


@dataclass(frozen=True)
class Tally:
    """The resolution in progress (or else the last one closed) and its counts."""

    resolution: Resolution | None
    yes: int
    no: int


class VoteStore(Protocol):
    """What every build offers the API and the form."""

    def start(self, text: str) -> Resolution:
        """Open voting on a new resolution; raise VoteInProgress if one is open."""
        ...

    def vote(self, choice: Choice) -> Receipt:
        """Count one vote; raise NoVoteInProgress if nothing is open."""
        ...

    def stop(self) -> Result:
        """Close voting and return the result; raise NoVoteInProgress if nothing is open."""
        ...

    def tally(self) -> Tally:
        """Return the current (or last) resolution and its counts."""
        ...


def _call_only(_seconds: float) -> None:
    """No pause: the window is this call alone, preempted only when the switch interval ends."""


@dataclass
class _Ballot:
    id: int
    text: str
    state: State
    counts: dict[Choice, int]


class MemoryStore:
    """Counts in a dict; `locked` decides whether a real lock guards them."""

    def __init__(self, *, locked: bool, race_window: float = 0.0) -> None:
        # The locked and unlocked builds run this very code; only the lock differs, so the
        # harness compares a bug with its fix and nothing else.
        self._lock: AbstractContextManager[object] = threading.Lock() if locked else nullcontext()
        self._race_window = race_window
        # A window of -1 is a function-call-only window: no sleep and no I/O between the
        # read and the write, just a call, where CPython may switch threads only when its
        # switch interval has run out (RACECHECK_SWITCH_INTERVAL makes that often).
        self._pause = time.sleep if race_window >= 0 else _call_only
        self._latest: _Ballot | None = None
        self._last_id = 0

    def start(self, text: str) -> Resolution:
        """Open voting on a new resolution; raise VoteInProgress if one is open."""
        with self._lock:
            if self._latest is not None and self._latest.state == "voting":
                raise VoteInProgress
            self._last_id += 1
            self._latest = _Ballot(self._last_id, text, "voting", {"yes": 0, "no": 0})
            return Resolution(self._last_id, text, "voting")

    def vote(self, choice: Choice) -> Receipt:
        """Count one vote with a read, a pause and a write; raise NoVoteInProgress if closed."""
        with self._lock:
            ballot = self._latest
            if ballot is None or ballot.state != "voting":
                raise NoVoteInProgress
            seen = ballot.counts[choice]
            # The pause stands in for the I/O real handlers do between reading and writing.
            # sleep(0) still releases the GIL, so another thread may read the same value; the
            # locked build pauses too, inside the lock, so timing comparisons stay fair.
            self._pause(self._race_window)
            count = seen + 1
            ballot.counts[choice] = count
            # Reply with what this handler wrote, never a re-read: duplicates are the evidence.
            return Receipt(ballot.id, ballot.text, choice, count)

    def stop(self) -> Result:
        """Close voting and return the result; raise NoVoteInProgress if nothing is open."""
        with self._lock:
            ballot = self._latest
            if ballot is None or ballot.state != "voting":
                raise NoVoteInProgress
            ballot.state = "closed"
            return Result(ballot.id, ballot.text, ballot.counts["yes"], ballot.counts["no"])

    def tally(self) -> Tally:
        """Return the current (or last) resolution and its counts."""
        with self._lock:
            ballot = self._latest
            if ballot is None:
                return Tally(None, 0, 0)
            resolution = Resolution(ballot.id, ballot.text, ballot.state)
            return Tally(resolution, ballot.counts["yes"], ballot.counts["no"])


class NaiveStore(MemoryStore):
    """The textbook race: a read-modify-write of a dict entry with nothing in between.

    No lock, no pause, no call: on CPython 3.11 a thread switch is considered only at calls
    and backward jumps, so under the GIL this loses nothing, however hard it is loaded. It is
    still a bug: Python does not promise that it is atomic, free-threaded CPython loses
    updates here, and ``--preempt`` (forced switches between the app's bytecodes) shows it.
    """

    def __init__(self) -> None:
        super().__init__(locked=False)

    def vote(self, choice: Choice) -> Receipt:
        """Count one vote the way tutorials do; raise NoVoteInProgress if closed."""
        ballot = self._latest
        if ballot is None or ballot.state != "voting":
            raise NoVoteInProgress
        # The same bytecodes as `ballot.counts[choice] += 1` (BINARY_SUBSCR, BINARY_OP,
        # STORE_SUBSCR, no call between), kept in a local so the reply carries the value this
        # handler wrote, as the API promises: two equal counts then prove a lost update.
        count = ballot.counts[choice] + 1
        ballot.counts[choice] = count
        return Receipt(ballot.id, ballot.text, choice, count)


# SQL parameters cannot name a column, so each choice gets its own fixed statement.
_VOTE_SQL: Final[dict[Choice, str]] = {
    "yes": "UPDATE resolutions SET yes_count = yes_count + 1 WHERE state = 'voting' "
    "RETURNING id, text, yes_count",
    "no": "UPDATE resolutions SET no_count = no_count + 1 WHERE state = 'voting' "
    "RETURNING id, text, no_count",
}


class SqliteStore:
    """Counts in a SQLite file; every operation is one atomic statement."""

    def __init__(
        self, path: str, connection: Callable[[], sqlite3.Connection] | None = None
    ) -> None:
        # `connection` hands out the request's own connection; without it each call opens
        # and closes one, which is what threads outside Flask (and the unit tests) need.
        self.path = path
        self._connection = connection

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if self._connection is not None:
            yield self._connection()
        else:
            with closing(db.connect(self.path)) as conn:
                yield conn

    def start(self, text: str) -> Resolution:
        """Open voting on a new resolution; raise VoteInProgress if one is open."""
        with self._db() as conn:
            try:
                # A partial unique index allows one 'voting' row: check and insert are atomic.
                rows = conn.execute(
                    "INSERT INTO resolutions (text, state) VALUES (?, 'voting') RETURNING id",
                    (text,),
                ).fetchall()
            except sqlite3.IntegrityError:
                raise VoteInProgress from None
        return Resolution(rows[0][0], text, "voting")

    def vote(self, choice: Choice) -> Receipt:
        """Count one vote with an atomic increment; raise NoVoteInProgress if closed."""
        with self._db() as conn:
            # fetchall() runs the statement to completion, which commits and frees the lock.
            rows = conn.execute(_VOTE_SQL[choice]).fetchall()
        if not rows:
            raise NoVoteInProgress
        resolution_id, text, count = rows[0]
        return Receipt(resolution_id, text, choice, count)

    def stop(self) -> Result:
        """Close voting and return the result; raise NoVoteInProgress if nothing is open."""
        with self._db() as conn:
            rows = conn.execute(
                "UPDATE resolutions SET state = 'closed' WHERE state = 'voting' "
                "RETURNING id, text, yes_count, no_count"
            ).fetchall()
        if not rows:
            raise NoVoteInProgress
        return Result(*rows[0])

    def tally(self) -> Tally:
        """Return the current (or last) resolution and its counts."""
        with self._db() as conn:
            # Only one resolution can be open and it is always the newest, so the newest row
            # is the one in progress or else the last one closed.
            row = conn.execute(
                "SELECT id, text, state, yes_count, no_count FROM resolutions "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return Tally(None, 0, 0)
        return Tally(Resolution(row[0], row[1], row[2]), row[3], row[4])
