"""Where --preempt's time goes: one thread, Flask's test client, the locked build, in-process.

Each line adds one part of the tracer: the global trace function on every call, local
tracers in the app's frames, the line recorder, the GIL release per opcode.
Usage: .venv/bin/python benchmarks/preempt_where.py [--votes 3000]
"""

from __future__ import annotations

import argparse
import time

from loadtests.target.optrace import OpTagMiddleware, Recorder
from loadtests.target.tracer import SettraceBackend
from target_app import create_app


def per_vote(votes: int, backend: SettraceBackend | None, recorder: Recorder | None) -> float:
    """Microseconds per vote through the test client with ``backend`` installed."""
    app = create_app({"BUILD": "locked"})
    headers = {}
    if recorder is not None:
        app.wsgi_app = OpTagMiddleware(app.wsgi_app, recorder)  # type: ignore[method-assign]
        headers = {"X-Racecheck-Op": "where"}
    client = app.test_client()
    client.post("/api/resolutions", json={"text": "where the time goes"})
    if backend is not None:
        backend.install()
    try:
        started = time.perf_counter()
        for number in range(votes):
            body = {"choice": "yes", "vote_id": f"v{number}"}
            client.post("/api/votes", json=body, headers=headers)
        return (time.perf_counter() - started) / votes * 1e6
    finally:
        if backend is not None:
            backend.uninstall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=3000)
    votes = parser.parse_args().votes
    never = 1e-9  # local tracers and opcode events, but (practically) no GIL release
    recorder = Recorder()
    rows = [
        ("no tracer", None, None),
        (
            "global tracer only (no frame is the app's)",
            SettraceBackend(("none",), rate=1, seed=0),
            None,
        ),
        (
            "+ opcode events in the app's frames",
            SettraceBackend(("target_app",), rate=never, seed=0),
            None,
        ),
        (
            "+ lines recorded",
            SettraceBackend(("target_app",), rate=never, seed=0, recorder=recorder),
            recorder,
        ),
        (
            "+ a GIL release on every app opcode (rate 1)",
            SettraceBackend(("target_app",), rate=1, seed=0, recorder=recorder),
            recorder,
        ),
        (
            "  the same at rate 0.1",
            SettraceBackend(("target_app",), rate=0.1, seed=0, recorder=recorder),
            recorder,
        ),
    ]
    for label, backend, rec in rows:
        print(f"{label:<50} {per_vote(votes, backend, rec):8.0f} µs/vote")


if __name__ == "__main__":
    main()
