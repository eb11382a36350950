"""Which app lines each request ran, and when: the evidence behind a collision's diagram.

Under ``--preempt`` the tracer already sees every line of the app's code. A tiny WSGI
middleware reads the op id the driver sends (``X-Racecheck-Op``) and tags the thread
for the length of the request; the tracer appends ``(sequence, time, file, line)`` to
that request's buffer. Memory is bounded: a cap per request, and a ring of requests
whose total is capped (the oldest go first). When the target stops, :meth:`Recorder.dump`
writes ``<dir>/<pid>.jsonl`` (one file per process: gunicorn's workers each write theirs),
with the source text of every line seen, so the report needs nothing but the run directory.
"""

from __future__ import annotations

import itertools
import json
import linecache
import os
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from loadtests import defaults

# WSGI's names, spelled out rather than imported from a server: this runs under any of them.
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_ENVIRON_KEY = "HTTP_" + defaults.OP_HEADER.upper().replace("-", "_")
_FIELDS = 4  # sequence, perf_counter_ns, file number, line number


class Recorder:
    """Per-request app lines, bounded; one per target process."""

    def __init__(
        self,
        per_request: int = defaults.PREEMPT_TRACE_LINES_PER_REQUEST,
        max_lines: int = defaults.PREEMPT_TRACE_MAX_LINES,
    ) -> None:
        self.per_request = per_request
        self.max_lines = max_lines
        self.files: dict[str, int] = {}
        self._current = threading.local()
        # One sequence for the whole process: next() on itertools.count is atomic under the
        # GIL, so it orders two threads' lines exactly, where two clocks could tie.
        self._sequence = itertools.count()
        self._done: deque[tuple[str, int, array[int], bool]] = deque()
        self._kept = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._dumped_by: int | None = None

    def begin(self) -> None:
        """Start a buffer for the calling thread's request, closed by :meth:`end`."""
        self._current.lines = array("q")

    def line(self, file: int, lineno: int) -> None:
        """Record that the calling thread's request reached ``lineno`` (called by the tracer)."""
        lines: array[int] | None = getattr(self._current, "lines", None)
        if lines is not None and len(lines) < self.per_request * _FIELDS:
            lines.extend((next(self._sequence), time.perf_counter_ns(), file, lineno))

    def end(self, op: str) -> None:
        """Close the calling thread's request and keep its lines in the ring."""
        lines: array[int] | None = getattr(self._current, "lines", None)
        self._current.lines = None
        if lines is None:
            return
        truncated = len(lines) >= self.per_request * _FIELDS
        with self._lock:
            self._done.append((op, threading.get_ident(), lines, truncated))
            self._kept += len(lines) // _FIELDS
            while self._kept > self.max_lines and self._done:
                self._kept -= len(self._done.popleft()[2]) // _FIELDS
                self.dropped += 1

    def records(self) -> list[dict[str, Any]]:
        """The kept requests, oldest first, as JSON-ready records."""
        with self._lock:
            done = list(self._done)
        return [
            {
                "kind": "request",
                "op": op,
                "thread": thread,
                "truncated": truncated,
                "lines": [list(lines[i : i + _FIELDS]) for i in range(0, len(lines), _FIELDS)],
            }
            for op, thread, lines, truncated in done
        ]

    def dump(self, directory: Path, header: dict[str, Any]) -> Path | None:
        """Write this process's requests to ``directory/<pid>.jsonl``; once per process."""
        pid = os.getpid()
        if self._dumped_by == pid:
            return None
        self._dumped_by = pid
        requests = self.records()
        if not requests:
            return None  # e.g. gunicorn's arbiter, which serves nothing itself
        names = {number: name for name, number in self.files.items()}
        seen = sorted({(r[2], r[3]) for req in requests for r in req["lines"]})
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{pid}.jsonl"
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as out:
            meta = {"kind": "header", "pid": pid, "dropped": self.dropped, **header}
            out.write(json.dumps({**meta, "files": names}) + "\n")
            for request in requests:
                out.write(json.dumps(request) + "\n")
            for file, lineno in seen:
                text = linecache.getline(names.get(file, ""), lineno).rstrip()
                record = {"kind": "source", "file": file, "line": lineno, "text": text}
                out.write(json.dumps(record) + "\n")
        partial.replace(path)  # a reader never sees half a file
        return path


class OpTagMiddleware:
    """Tags each request that carries an op id, for the recorder; untagged ones pass."""

    def __init__(self, app: WSGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        op = environ.get(_ENVIRON_KEY)
        if not op:
            return self.app(environ, start_response)
        self.recorder.begin()
        try:
            # Flask runs the view inside this call; its body is already rendered.
            return self.app(environ, start_response)
        finally:
            self.recorder.end(op)
