"""Load a Flask app from ``module:attr`` and host it on an inherited listening socket.

This runs inside the target's process (see ``loadtests.target.serve``). The socket was
bound by the launcher, which keeps it open across restarts; each server here only
accepts on it. One function per server, all serving until KeyboardInterrupt
(which ``_serve`` raises on SIGTERM) or, for gunicorn, until its arbiter exits.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask.cli import NoAppException, locate_app
from gunicorn.app.base import BaseApplication

from loadtests import defaults

if TYPE_CHECKING:
    from loadtests.defaults import ServerName

# gunicorn's own graceful period; shorter than the launcher's default grace (5 s)
# so that a SIGTERM ends in gunicorn's clean exit rather than in our SIGKILL.
GUNICORN_GRACEFUL_TIMEOUT = 3


class TargetSetupError(Exception):
    """The target cannot be set up: ``--app`` names no Flask app, or a knob is invalid."""


def load_app(app_ref: str) -> Flask:
    """The Flask app named by ``module:attr``: the object itself, or what a factory returns."""
    module_name, _, attr = app_ref.partition(":")
    try:
        # Flask's own locator, so "module:attr" means here what `flask --app` means:
        # an app object, or a factory called with no arguments (or literal ones).
        return locate_app(module_name, attr)
    except NoAppException as exc:
        raise TargetSetupError(
            f"cannot load the app {app_ref!r}: {exc.format_message()}\n"
            "Use 'module:name', where the module is importable by the target (the launcher "
            "prepends TargetSpec.pythonpath, i.e. a target file's folder, to PYTHONPATH) and "
            "name is a Flask app or a factory that needs no arguments. "
            f"Check it with: flask --app {app_ref} routes"
        ) from None


def serve(
    server: ServerName,
    app: Flask,
    *,
    fd: int,
    host: str,
    port: int,
    threads: int,
    workers: int,
) -> None:
    """Serve ``app`` on the listening socket ``fd`` with the named server until stopped."""
    if server == "werkzeug":
        _serve_werkzeug(app, fd=fd, host=host, port=port)
    elif server == "waitress":
        _serve_waitress(app, fd=fd, threads=threads)
    else:
        _serve_gunicorn(app, fd=fd, threads=threads, workers=workers)


def _serve_werkzeug(app: Flask, *, fd: int, host: str, port: int) -> None:
    from werkzeug.serving import make_server

    # The dev server logs every request; waitress and gunicorn (no access log) do
    # not. A write per request would slow werkzeug down and bloat the run's log,
    # so keep warnings and errors only and the three servers comparable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # A thread per connection: werkzeug has no pool, so `threads` does not apply.
    server = make_server(host, port, app, threaded=True, fd=fd)
    os.close(fd)  # make_server duplicated it
    server.serve_forever()  # returns after server_close() on KeyboardInterrupt


class OncePerInterval(logging.Filter):
    """Lets one record through per ``seconds``, saying how many it held back meanwhile.

    Under load waitress warns "Task queue depth is N" for every request that waits for
    a thread: ~19,000 lines a minute in target.log, burying the app's own tracebacks.
    The queue is expected under a load test; one line every few seconds still shows it.
    """

    def __init__(self, seconds: float = 10.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._last: float | None = None
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """True for the first record of each interval."""
        if self._last is not None and record.created - self._last < self.seconds:
            self._held += 1
            return False
        if self._held:
            record.msg = f"{record.msg} ({self._held} such lines held back in the last interval)"
        self._last, self._held = record.created, 0
        return True


def _serve_waitress(app: Flask, *, fd: int, threads: int) -> None:
    import waitress

    logging.getLogger("waitress.queue").addFilter(OncePerInterval())
    # waitress.serve catches KeyboardInterrupt, then drains its thread pool.
    waitress.serve(app, sockets=[socket.socket(fileno=fd)], threads=threads)


def _serve_gunicorn(app: Flask, *, fd: int, threads: int, workers: int) -> None:
    options: dict[str, Any] = {
        "bind": [f"fd://{fd}"],
        "worker_class": "gthread",
        "workers": workers,
        "threads": threads,
        # DESIGN.md: always without the control socket. Several targets run side
        # by side and would otherwise fight over one $XDG_RUNTIME_DIR/gunicorn.ctl.
        "control_socket_disable": True,
        "graceful_timeout": GUNICORN_GRACEFUL_TIMEOUT,
        "keepalive": defaults.KEEP_ALIVE_SECONDS,  # why: see defaults
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "racecheck-target",
    }
    _GunicornApp(app, options).run()


class _GunicornApp(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's documented "Custom Application": config from a dict, an already loaded app.

    The app is loaded before the arbiter starts (like ``--preload``): an import error
    then ends the process at once instead of as a worker boot loop, and every forked
    worker starts from the same state.
    """

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app
