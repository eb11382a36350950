"""The history on disk as it happens: one append-only file per process, merged at the end.

Each process that records operations (the driver process, each Locust worker, the
harness's own requests) appends them to its own *part* file, in batches, as they
complete: memory holds a batch, not the run, and a run killed with SIGKILL leaves
every operation that was flushed before the signal. The round merges the parts
into ``history.jsonl`` (same format: one op per line, as :meth:`History.write`
writes it), streaming, ordered by time as :func:`loadtests.history.merge` orders.

Writing is this module's job; reading is :func:`loadtests.history.iter_file`'s.
"""

from __future__ import annotations

import errno
import heapq
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from loadtests.errors import HistoryError
from loadtests.files import atomic_open, os_problem
from loadtests.history import Op, iter_file, op_line

PARTS_DIR = "parts"
# A batch is written when it holds this many ops or is this old, whichever comes first:
# a SIGKILL loses at most that much, and the disk sees one write per batch, not per op.
BATCH_OPS = 256
BATCH_SECONDS = 0.25


def _flush_when_idle(ref: weakref.ReferenceType[Journal], stop: threading.Event) -> None:
    """Write a batch that waits for no further op (a stalled target), until closed."""
    while not stop.wait(BATCH_SECONDS):
        journal = ref()
        if journal is None:
            return
        journal.flush(only_if_due=True)
        del journal  # hold no reference while waiting: a dropped journal closes


class Journal:
    """An append-only part file, written in batches, safe to share between threads.

    The file is opened once, when the journal is made (a run near its open-files
    limit must not fail to write its evidence later), and closed by :meth:`close`, or
    when the journal is dropped without it. A batch is written when it is full, or at
    most BATCH_SECONDS after its first op even if no other op follows.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.error: str | None = None
        # Called once when a batch cannot be written: the run stops sending load that
        # can no longer be recorded (the requests driver's stop event).
        self.on_error: Callable[[], None] | None = None
        self.written = 0
        self._buffer: list[str] = []
        self._since = time.monotonic()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: a write the disk refuses is not retried when the file closes.
            self._file: BinaryIO | None = path.open("wb", buffering=0)
        except OSError as exc:
            raise os_problem(exc, path) from exc
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._finalizer = weakref.finalize(self, _close_file, self._file, self._stop)

    def add(self, op: Op) -> None:
        """Buffer one op; write the batch when it is full or old."""
        line = op_line(op)
        with self._lock:
            if not self._buffer:
                self._since = time.monotonic()
            self._buffer.append(line)
            if len(self._buffer) >= BATCH_OPS or time.monotonic() - self._since >= BATCH_SECONDS:
                self.flush()
            elif self._flusher is None and not self._stop.is_set():
                self._flusher = threading.Thread(
                    target=_flush_when_idle,
                    args=(weakref.ref(self), self._stop),
                    name="racecheck-journal",
                    daemon=True,
                )
                self._flusher.start()

    def flush(self, only_if_due: bool = False) -> None:
        """Hand the buffered ops to the OS (they survive the process from here on)."""
        with self._lock:
            if only_if_due and time.monotonic() - self._since < BATCH_SECONDS:
                return
            self._write()

    def _write(self) -> None:
        if not self._buffer:
            return
        if self._file is not None and self.error is None:
            try:
                data = memoryview("".join(self._buffer).encode("utf-8"))
                while data:
                    wrote = self._file.write(data)
                    if not wrote:  # a regular file writes something or raises; never spin
                        raise OSError(errno.EIO, "the file took no bytes")
                    data = data[wrote:]
                self.written += len(self._buffer)
            except OSError as exc:
                # The disk is full or gone: the history can no longer be whole. Say so
                # at the end (the round refuses to judge it) rather than kill clients.
                self.error = str(os_problem(exc, self.path))
                if self.on_error is not None:
                    self.on_error()
        self._buffer.clear()

    def read(self) -> Iterator[Op]:
        """Every op written so far (call flush first for the buffered ones)."""
        return read_part(self.path)

    def close(self) -> None:
        """Flush and close; raise HistoryError if any batch could not be written."""
        with self._lock:
            self._write()
            if self._file is not None:
                try:
                    self._finalizer()
                except OSError as exc:
                    self.error = self.error or str(os_problem(exc, self.path))
                self._file = None
        if self.error is not None:
            raise HistoryError(f"the history could not be recorded: {self.error}")


def _close_file(file: BinaryIO, stop: threading.Event) -> None:
    stop.set()  # the idle flusher ends too
    file.close()


def read_part(path: Path) -> Iterator[Op]:
    """The ops of a part file; a last line cut by a kill mid-write is left out."""
    with path.open("rb") as raw:
        raw.seek(0, 2)
        size = raw.tell()
        if size:
            raw.seek(size - 1)
            complete = raw.read(1) == b"\n"
        else:
            complete = True
    if complete:
        yield from iter_file(path)
        return
    ops = iter_file(path)
    while True:
        try:
            op = next(ops)
        except StopIteration:
            return
        except HistoryError:
            return  # only the cut last line can be unreadable here; earlier ones read fine
        yield op


def merge_streams(sources: Iterable[Iterable[Op]]) -> Iterator[Op]:
    """Merge time-ordered streams by time (ties: the earlier source first), re-indexed.

    Each part is in time order (a History stamps under its lock), so this is
    :func:`loadtests.history.merge`'s order without holding the ops.
    """
    tagged = (
        ((op.time_ns, source, position, op) for position, op in enumerate(stream))
        for source, stream in enumerate(sources)
    )
    for index, (_, _, _, op) in enumerate(heapq.merge(*tagged, key=lambda item: item[:3])):
        yield Op(index, op.process, op.type, op.f, op.value, op.time_ns, op.vote_id, op.driver)


def write_merged(path: Path, ops: Iterable[Op]) -> int:
    """Write ``ops`` as a history file, whole or not at all; returns how many."""
    count = 0
    with atomic_open(path) as out:
        batch: list[str] = []
        for op in ops:
            batch.append(op_line(op))
            if len(batch) >= 4096:
                out.write("".join(batch))
                batch.clear()
            count += 1
        out.write("".join(batch))
    return count


def part_files(run_dir: Path) -> list[Path]:
    """Every part a run leaves while it runs: the driver's, the harness's, Locust workers'."""
    found: list[Path] = []
    for folder in (run_dir / PARTS_DIR, run_dir / "locust" / "workers", run_dir / "workers"):
        if folder.is_dir():
            found += sorted(folder.glob("*.jsonl"))
    return found
