"""The --preempt tracer in this process: forced switches only in the app's own frames."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest

from loadtests.target.optrace import OpTagMiddleware, Recorder
from loadtests.target.tracer import SettraceBackend

THREADS = 8
CALLS = 1_000
counter = 0
lock = threading.Lock()


def bump() -> None:
    global counter  # noqa: PLW0603 (the textbook race is on a module global)
    counter += 1  # no call and no backward jump between the read and the write


def locked_bump() -> None:
    global counter  # noqa: PLW0603 (the textbook race is on a module global)
    with lock:
        counter += 1


def hammer(work: Callable[[], None]) -> int:
    """THREADS threads each call ``work`` CALLS times; the counter's final value."""
    global counter  # noqa: PLW0603 (the textbook race is on a module global)
    counter = 0
    start = threading.Barrier(THREADS)

    def run() -> None:
        start.wait()
        for _ in range(CALLS):
            work()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counter


@pytest.fixture
def installed() -> Iterator[Callable[..., SettraceBackend]]:
    """Install a backend for this module's code; always uninstalled afterwards."""
    backends: list[SettraceBackend] = []

    def install(rate: float = 1.0, recorder: Recorder | None = None) -> SettraceBackend:
        backend = SettraceBackend((__name__,), rate=rate, seed=1, recorder=recorder)
        backend.install()
        backends.append(backend)
        return backend

    yield install
    for backend in backends:
        backend.uninstall()


def test_without_preemption_the_gil_hides_the_textbook_race() -> None:
    assert hammer(bump) == THREADS * CALLS


def test_forced_switches_make_the_textbook_race_lose_updates(
    installed: Callable[..., SettraceBackend],
) -> None:
    installed()
    assert hammer(bump) < THREADS * CALLS


def test_a_lock_held_across_forced_switches_loses_nothing(
    installed: Callable[..., SettraceBackend],
) -> None:
    installed()
    assert hammer(locked_bump) == THREADS * CALLS


def test_only_the_apps_frames_get_a_local_tracer() -> None:
    backend = SettraceBackend((__name__,), rate=1.0, seed=0)
    ours = sys._getframe()
    assert backend._global(ours, "call", None) is not None
    assert ours.f_trace_opcodes
    ours.f_trace_opcodes = False
    theirs = _frame_of(threading.current_thread)  # the stdlib: not the app's code
    assert backend._global(theirs, "call", None) is None


def test_a_module_prefix_matches_the_package_and_its_submodules_only() -> None:
    backend = SettraceBackend(("myapp",), rate=1.0, seed=0)
    names = {"myapp": True, "myapp.views": True, "myappx": False, "other.myapp": False}
    for name, expected in names.items():
        frame = _frame_with_globals({"__name__": name})
        assert backend.is_app_code(frame) is expected, name


def test_a_lower_rate_still_forces_switches(installed: Callable[..., SettraceBackend]) -> None:
    installed(rate=0.5)
    assert hammer(bump) < THREADS * CALLS


def test_the_recorder_keeps_each_tagged_requests_app_lines(
    installed: Callable[..., SettraceBackend],
) -> None:
    recorder = Recorder()
    installed(recorder=recorder)

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        bump()
        return [b"ok"]

    middleware = OpTagMiddleware(app, recorder)
    middleware({"HTTP_X_RACECHECK_OP": "v-1"}, lambda *a: None)
    middleware({}, lambda *a: None)  # untagged: not recorded
    records = recorder.records()
    assert [r["op"] for r in records] == ["v-1"]
    lines = records[0]["lines"]
    assert lines, "the app's lines were recorded"
    bump_line = bump.__code__.co_firstlineno + 2  # the line with `counter += 1`
    assert bump_line in [line[3] for line in lines]


def test_the_recorder_is_bounded_per_request_and_in_all() -> None:
    recorder = Recorder(per_request=3, max_lines=5)
    for op in ("a", "b", "c"):
        recorder.begin()
        for lineno in range(10):
            recorder.line(0, lineno)
        recorder.end(op)
    records = recorder.records()
    assert [r["op"] for r in records] == ["c"]  # 3 lines each, 5 at most: the oldest go
    assert records[0]["truncated"] and len(records[0]["lines"]) == 3
    assert recorder.dropped == 2


def test_the_dump_writes_requests_and_source_text(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.files[__file__] = 0
    recorder.begin()
    recorder.line(0, bump.__code__.co_firstlineno + 2)
    recorder.end("v-9")
    path = recorder.dump(tmp_path, {"rate": 1.0})
    assert path is not None
    text = path.read_text()
    assert '"op": "v-9"' in text and "counter += 1" in text
    assert recorder.dump(tmp_path, {}) is None  # once per process


def _frame_of(function: Callable[[], object]) -> FrameType:
    """A frame running ``function``'s code, caught by a profiler hook."""
    caught: list[FrameType] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code is function.__code__:
            caught.append(frame)

    sys.setprofile(profile)
    try:
        function()
    finally:
        sys.setprofile(None)
    return caught[0]


def _frame_with_globals(namespace: dict[str, object]) -> FrameType:
    code = compile("import sys\nframe = sys._getframe()", "<test>", "exec")
    exec(code, namespace)
    frame = namespace["frame"]
    assert isinstance(frame, FrameType)
    return frame
