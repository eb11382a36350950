"""The target's process: load the app, serve it on the inherited socket until SIGTERM.

The launcher runs this as ``python -m loadtests.target.serve``; it is not a public entry
point (use ``racecheck serve``). Exit status: 0 after a clean stop, 2 when the app
cannot be loaded or a knob is invalid, 1 (with a traceback) when the app crashes while loading.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from flask import Flask

from loadtests import defaults
from loadtests.errors import UsageError
from loadtests.target import preempt
from loadtests.target.importguard import forbid_run_at_import
from loadtests.target.optrace import OpTagMiddleware, Recorder
from loadtests.target.readiness import signal_ready
from loadtests.target.tracer import make_preemptor
from loadtests.target.wsgi import TargetSetupError, load_app, serve

PARENT_CHECK_INTERVAL = 0.5
EXIT_BAD_APP = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM (or the launcher's death); return the exit status."""
    args = _parse(argv)
    # SIGTERM unwinds like Ctrl-C: werkzeug and waitress both close cleanly on
    # KeyboardInterrupt. gunicorn's arbiter installs its own handlers and exits 0.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    _watch_parent(args.parent_pid)
    dump: Callable[[], None] | None = None
    try:
        _apply_switch_interval()
        forbid_run_at_import()
        app = load_app(args.app)
        # After the app is loaded (its import is not the race) and before the server makes
        # its threads (waitress at start-up, werkzeug per connection, gunicorn after fork).
        dump = _install_preemption(app, args.app)
        print(
            f"racecheck target: {args.app} on {args.server} at {args.host}:{args.port}"
            f" (pid {os.getpid()})",
            file=sys.stderr,
            flush=True,
        )
        signal_ready(args.ready_fd)  # the launcher's readiness without a request
        serve(
            args.server,
            app,
            fd=args.fd,
            host=args.host,
            port=args.port,
            threads=args.threads,
            workers=args.workers,
        )
    except TargetSetupError as exc:
        print(f"racecheck target: {exc}", file=sys.stderr)
        return EXIT_BAD_APP
    except KeyboardInterrupt:
        pass
    finally:
        if dump is not None:
            dump()
    return 0


def _install_preemption(app: Flask, app_ref: str) -> Callable[[], None] | None:
    """Install ``--preempt``'s tracer when asked to; return what writes its trace at the end."""
    try:
        settings = preempt.from_env(os.environ)
    except UsageError as exc:
        raise TargetSetupError(str(exc)) from None
    if settings is None:
        return None
    modules = preempt.app_modules(app_ref, settings)
    recorder = Recorder()
    app.wsgi_app = OpTagMiddleware(app.wsgi_app, recorder)  # type: ignore[method-assign]
    make_preemptor(modules, rate=settings.rate, seed=settings.seed, recorder=recorder).install()
    print(
        f"racecheck target: --preempt: forced switches in {', '.join(modules)}"
        f" (rate {settings.rate:g}, seed {settings.seed})",
        file=sys.stderr,
        flush=True,
    )
    trace_dir = os.environ.get(preempt.ENV_TRACE_DIR)
    if not trace_dir:
        return None
    header = {**settings.to_dict(), "modules": list(modules)}

    def dump() -> None:
        # Errors here must not turn a clean stop into a crash: the trace is a bonus.
        try:
            recorder.dump(Path(trace_dir), header)
        except OSError as exc:
            print(f"racecheck target: cannot write the preempt trace: {exc}", file=sys.stderr)

    # gunicorn's workers leave through sys.exit in the forked child, past serve()'s caller
    # too; atexit covers any other clean exit. dump() writes once per process.
    atexit.register(dump)
    return dump


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.target.serve")
    parser.add_argument("--app", required=True)
    parser.add_argument("--server", required=True, choices=defaults.SERVERS)
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=defaults.THREADS)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--ready-fd", type=int, default=None, help="written once loaded")
    return parser.parse_args(argv)


def _watch_parent(parent_pid: int) -> None:
    """End the whole process group soon after the launcher is gone, however it died.

    Polling getppid() rather than PR_SET_PDEATHSIG: that signal fires when the
    *thread* that spawned us exits, and a nemesis thread restarts targets. The
    parent's pid comes on the command line so that a launcher that died before
    this thread started is noticed too (we would already have been reparented).
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_INTERVAL)
        # The launcher would have removed its scratch folder (the sqlite database):
        # it is gone, so we do, or the folder stays in the temp folder for good.
        scratch = os.environ.get("RACECHECK_SCRATCH_DIR")
        if scratch and Path(scratch).name.startswith("racecheck-db-"):
            shutil.rmtree(scratch, ignore_errors=True)
        # SIGKILL, the group: gunicorn workers go too, and nobody waits for a
        # graceful exit any more.
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="racecheck-parent-watch", daemon=True).start()


def _apply_switch_interval() -> None:
    # Here and not only in the reference app, so that stress mode also works for
    # apps that nobody here wrote.
    value = os.environ.get("RACECHECK_SWITCH_INTERVAL")
    if not value:
        return
    try:
        sys.setswitchinterval(float(value))
    except ValueError:
        raise TargetSetupError(
            f"RACECHECK_SWITCH_INTERVAL={value!r} is not a positive number of seconds;"
            " use e.g. 0.000001 (CPython's default is 0.005)"
        ) from None


if __name__ == "__main__":
    sys.exit(main())
