"""A streamed history holds a batch, not the run: memory flat in the number of votes."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from loadtests.history import History
from loadtests.journal import Journal


def peak_bytes(votes: int, path: Path) -> int:
    """Peak traced memory while ``votes`` votes are recorded into a streamed history."""
    tracemalloc.start()
    try:
        history = History("requests", journal=Journal(path))
        for n in range(votes):
            op = history.invoke(n % 16, "vote", {"choice": "yes"}, f"v-{n}")
            history.complete(op, "ok", {"choice": "yes", "count": n + 1, "pid": 7})
        history.close_pending()
        assert history.journal is not None
        history.journal.close()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_recording_ten_times_the_votes_needs_no_more_memory(tmp_path: Path) -> None:
    small = peak_bytes(2_000, tmp_path / "small.jsonl")
    large = peak_bytes(20_000, tmp_path / "large.jsonl")
    assert (tmp_path / "large.jsonl").read_bytes().count(b"\n") == 40_000
    # Kept in memory, 20,000 votes are ~16 MB; streamed, the peak is one batch.
    assert large < 2 * small + 1_000_000, (small, large)


def test_a_history_kept_in_memory_does_grow(tmp_path: Path) -> None:
    """The control: the same votes without a journal (what the flat figure is against)."""
    tracemalloc.start()
    try:
        history = History("requests")
        for n in range(20_000):
            op = history.invoke(n % 16, "vote", {"choice": "yes"}, f"v-{n}")
            history.complete(op, "ok", {"choice": "yes", "count": n + 1, "pid": 7})
        kept = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert kept > 4 * peak_bytes(2_000, tmp_path / "small.jsonl")
