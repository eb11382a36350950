"""The vote stores, called directly from many threads: who loses updates and who does not."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from target_app import db
from target_app.store import (
    MemoryStore,
    NoVoteInProgress,
    Receipt,
    Result,
    SqliteStore,
    Tally,
    VoteInProgress,
    VoteStore,
)

THREADS = 16
PER_THREAD = 200

StoreFactory = Callable[[], VoteStore]


def _sqlite(tmp_path: Path) -> SqliteStore:
    path = str(tmp_path / "votes.sqlite3")
    db.init_schema(path)
    return SqliteStore(path)


@pytest.fixture(params=["locked", "unlocked", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> VoteStore:
    """Each store, fresh."""
    if request.param == "sqlite":
        return _sqlite(tmp_path)
    return MemoryStore(locked=request.param == "locked")


def hammer(store: VoteStore, threads: int = THREADS, per_thread: int = PER_THREAD) -> list[int]:
    """Vote yes `threads * per_thread` times from `threads` threads; return the counts replied."""
    barrier = threading.Barrier(threads)
    counts: list[list[int]] = [[] for _ in range(threads)]

    def work(mine: list[int]) -> None:
        barrier.wait()  # start together, so the threads really overlap
        for _ in range(per_thread):
            mine.append(store.vote("yes").count)

    workers = [threading.Thread(target=work, args=(counts[i],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [count for mine in counts for count in mine]


def test_a_fresh_store_has_nothing_to_tally(store: VoteStore) -> None:
    assert store.tally() == Tally(None, 0, 0)


def test_start_vote_stop_and_tally(store: VoteStore) -> None:
    started = store.start("Homework is optional")
    assert started.state == "voting"
    assert store.vote("yes") == Receipt(started.id, "Homework is optional", "yes", 1)
    assert store.vote("yes").count == 2
    assert store.vote("no").count == 1
    tally = store.tally()
    assert tally.resolution is not None
    assert (tally.resolution.state, tally.yes, tally.no) == ("voting", 2, 1)

    result = store.stop()
    assert result == Result(started.id, "Homework is optional", 2, 1)
    assert result.outcome == "passes"
    closed = store.tally()
    assert closed.resolution is not None
    assert (closed.resolution.state, closed.yes, closed.no) == ("closed", 2, 1)


def test_conflicts_change_nothing(store: VoteStore) -> None:
    with pytest.raises(NoVoteInProgress):
        store.vote("yes")
    with pytest.raises(NoVoteInProgress):
        store.stop()
    first = store.start("first")
    store.vote("no")
    before = store.tally()
    with pytest.raises(VoteInProgress):
        store.start("second")
    assert store.tally() == before
    store.stop()
    with pytest.raises(NoVoteInProgress):
        store.vote("yes")
    with pytest.raises(NoVoteInProgress):
        store.stop()
    second = store.start("second")
    assert second.id == first.id + 1
    assert store.tally() == Tally(second, 0, 0)


@pytest.mark.parametrize(
    ("yes", "no", "outcome"), [(7, 3, "passes"), (3, 7, "fails"), (5, 5, "tied"), (0, 0, "tied")]
)
def test_outcome(yes: int, no: int, outcome: str) -> None:
    assert Result(1, "r", yes, no).outcome == outcome


def test_unlocked_store_loses_updates_under_threads() -> None:
    store = MemoryStore(locked=False, race_window=0.0005)
    store.start("race")
    counts = hammer(store)
    final = store.tally().yes
    assert final < THREADS * PER_THREAD, "no update was lost; the race window did not bite"
    duplicated = [count for count, seen in Counter(counts).items() if seen > 1]
    assert duplicated, "lost updates leave duplicate counts as fingerprints"


@pytest.mark.parametrize("race_window", [0.0, 0.0005])
def test_locked_store_loses_nothing(race_window: float) -> None:
    store = MemoryStore(locked=True, race_window=race_window)
    store.start("no race")
    # With a window every vote sleeps inside the lock, one at a time: keep that run shorter.
    per_thread = PER_THREAD if race_window == 0 else 50
    counts = hammer(store, per_thread=per_thread)
    total = THREADS * per_thread
    assert store.tally().yes == total
    assert sorted(counts) == list(range(1, total + 1))


def test_sqlite_store_loses_nothing(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    store.start("no race")
    counts = hammer(store)
    total = THREADS * PER_THREAD
    assert store.tally().yes == total
    assert sorted(counts) == list(range(1, total + 1))


def test_sqlite_stores_on_one_file_share_state(tmp_path: Path) -> None:
    # Two gunicorn workers are two stores on the same file.
    path = str(tmp_path / "shared.sqlite3")
    db.init_schema(path)
    db.init_schema(path)  # a second worker initialising again must be harmless
    first, second = SqliteStore(path), SqliteStore(path)
    first.start("shared")
    assert second.vote("yes").count == 1
    assert first.vote("yes").count == 2
    with pytest.raises(VoteInProgress):
        second.start("another")
    assert second.stop().yes == 2


def test_sqlite_store_uses_the_connection_it_is_given(tmp_path: Path) -> None:
    path = str(tmp_path / "votes.sqlite3")
    db.init_schema(path)
    conn = db.connect(path)
    handed_out: list[int] = []

    def connection() -> sqlite3.Connection:
        handed_out.append(1)
        return conn

    store = SqliteStore(path, connection=connection)
    store.start("r")
    store.vote("no")
    assert store.tally().no == 1
    assert len(handed_out) == 3
    conn.close()


def test_call_only_window_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    # The function-call-only window (-1) must not release the GIL on purpose: a sleep
    # here would turn the hard case the bench measures back into the easy one.
    def no_sleep(_seconds: float) -> None:
        raise AssertionError("the call-only window slept")

    monkeypatch.setattr("target_app.store.time.sleep", no_sleep)
    store = MemoryStore(locked=False, race_window=-1.0)
    store.start("call only")
    assert [store.vote("yes").count for _ in range(3)] == [1, 2, 3]
    assert store.tally().yes == 3
