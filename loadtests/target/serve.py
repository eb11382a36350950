"""The target's process: load the app, serve it on the inherited socket until SIGTERM.

The launcher runs this as ``python -m loadtests.target.serve``; it is not a public entry
point (use ``racecheck serve``). Exit status: 0 after a clean stop, 2 when the app
cannot be loaded or a knob is invalid, 1 (with a traceback) when the app crashes while loading.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

from loadtests import defaults
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
    try:
        _apply_switch_interval()
        app = load_app(args.app)
        print(
            f"racecheck target: {args.app} on {args.server} at {args.host}:{args.port}"
            f" (pid {os.getpid()})",
            file=sys.stderr,
            flush=True,
        )
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
    return 0


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
