"""Forced thread switches between the bytecodes of the app's own code (``--preempt``).

CPython 3.11 considers a thread switch only at calls and backward jumps, so ``n += 1`` on
shared state never interleaves under the GIL, however the switch interval is set. A trace
function that turns on opcode events for the app's frames, and releases the GIL on them,
opens a switch point between every two bytecodes: the interleavings free-threaded CPython
produces on its own become common.

The release is ``os.sched_yield()``: it drops the GIL around the system call (like
``time.sleep(0)``) and offers the CPU to the threads waiting for it. ``time.sleep(0)``
would do too, but on Linux it costs about 50 µs (the kernel's timer slack) against
0.3 µs, and a vote runs hundreds of app opcodes (docs/preempt.md has the numbers).

Only frames whose module is the app's (by ``__name__``) get a local tracer; Flask's,
Werkzeug's, the server's and the standard library's frames return None from the global
tracer and cost only their call event. :class:`Preemptor` is the seam: Python 3.12+ could
implement it with ``sys.monitoring`` (INSTRUCTION and LINE events per code object, via
``set_local_events``) instead of ``sys.settrace``; :class:`SettraceBackend` is the one
implementation shipped, for 3.11.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, Protocol

from loadtests.target.optrace import Recorder

_NOT_OURS = -1


def _sleep_zero() -> None:
    time.sleep(0)


# Both release the GIL; sched_yield is ~200x cheaper where it exists (POSIX).
release_gil: Callable[[], None] = getattr(os, "sched_yield", _sleep_zero)

TraceFunction = Callable[[FrameType, str, Any], Any]


class Preemptor(Protocol):
    """What forces switches in the app's code; install before the server makes its threads."""

    def install(self) -> None:
        """Start: the calling thread and every thread started from now on."""
        ...

    def uninstall(self) -> None:
        """Stop for threads started from now on and for the calling thread."""
        ...


class SettraceBackend:
    """The 3.11 implementation: ``threading.settrace`` + ``sys.settrace`` + opcode events."""

    def __init__(
        self,
        modules: tuple[str, ...],
        *,
        rate: float,
        seed: int,
        recorder: Recorder | None = None,
    ) -> None:
        self.modules = modules
        self.rate = rate
        self._coin = random.Random(seed).random
        self._recorder = recorder
        # code object -> file number for the recorder, or _NOT_OURS. Decided once per code
        # object, so a frame of Flask costs one dict lookup after the first call.
        self._decisions: dict[CodeType, int] = {}
        # Path -> file number; the recorder's table when there is one, so its dump names them.
        self._files: dict[str, int] = recorder.files if recorder is not None else {}
        self._local = self._make_local()
        self._forked = False

    def install(self) -> None:
        """Trace the calling thread and every thread started from now on (and after fork)."""
        threading.settrace(self._global)
        sys.settrace(self._global)
        if not self._forked:
            # gunicorn forks its workers after the app is loaded; the hook threading keeps is
            # inherited, but install again in each child so its main thread is traced too.
            os.register_at_fork(after_in_child=self.install)
            self._forked = True

    def uninstall(self) -> None:
        """Stop tracing new threads and the calling thread."""
        threading.settrace(None)
        sys.settrace(None)

    def is_app_code(self, frame: FrameType) -> bool:
        """Whether ``frame`` runs the app's own code (its module is one of ``modules``)."""
        name = frame.f_globals.get("__name__")
        if not isinstance(name, str):
            return False
        return any(name == m or name.startswith(m + ".") for m in self.modules)

    def _global(self, frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        code = frame.f_code
        number = self._decisions.get(code)
        if number is None:
            number = _NOT_OURS
            if self.is_app_code(frame):
                number = self._files.setdefault(code.co_filename, len(self._files))
            self._decisions[code] = number
        if number == _NOT_OURS:
            return None
        frame.f_trace_opcodes = True
        return self._local

    def _make_local(self) -> TraceFunction:
        # A closure over locals: the local tracer runs on every opcode of app code, so
        # it avoids attribute lookups on self.
        release, coin, rate = release_gil, self._coin, self.rate
        decisions = self._decisions
        recorder = self._recorder
        always = rate >= 1.0
        line = recorder.line if recorder is not None else None

        def local(frame: FrameType, event: str, arg: Any) -> TraceFunction:
            if event == "opcode":
                if always or coin() < rate:
                    release()  # drops the GIL: another thread may run before the next opcode
            elif event == "line" and line is not None:
                line(decisions[frame.f_code], frame.f_lineno)
            return local

        return local


def make_preemptor(
    modules: tuple[str, ...], *, rate: float, seed: int, recorder: Recorder | None = None
) -> Preemptor:
    """The preemptor for this interpreter (3.11: settrace; see the module's docstring)."""
    return SettraceBackend(modules, rate=rate, seed=seed, recorder=recorder)
