"""Start and stop every process the harness runs: target servers, and Locust.

Every child gets its own process group, so one signal reaches a gunicorn arbiter
and its workers, and a terminal's Ctrl-C reaches only the harness, which then
stops its children: SIGTERM to the group, SIGKILL after a grace period, always by
the recorded pgid, then reaped. For a target the launcher binds the listening
socket itself and hands it to the server: the port is known before the server
starts, and it stays the same across a nemesis's kill() and restart(), with the
connections made in the gap waiting in the backlog.
"""

from __future__ import annotations

import http.client
import os
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType, TracebackType

from loadtests import defaults
from loadtests.defaults import BUILDS, MULTIPROCESS_SERVERS, REFERENCE_APP, SERVERS, ServerName
from loadtests.errors import LaunchError, UnsafeTargetError, UsageError
from loadtests.target import preempt as preempting
from loadtests.target.boot import FALLBACK_ENV
from loadtests.target.preempt import Preempt
from loadtests.target.processes import ManagedProcess, group_members, start_process
from loadtests.target.readiness import NO_SUCH_ROUTE, ReadyPipe, health_refused
from loadtests.target.safety import is_loopback_host as is_loopback

# Re-exported: callers start Locust and tools through the launcher module.
__all__ = [
    "ManagedProcess",
    "RunningTarget",
    "TargetSpec",
    "group_members",
    "is_loopback",
    "start_process",
    "start_target",
]


_REPO_ROOT = Path(__file__).resolve().parents[2]
_LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class TargetSpec:
    """What to launch: the app, its build and knobs, and the server that hosts it."""

    server: ServerName = defaults.SERVER
    threads: int = defaults.THREADS
    workers: int = defaults.WORKERS
    host: str = "127.0.0.1"
    port: int = 0
    app: str = REFERENCE_APP
    build: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    pythonpath: tuple[str, ...] = ()
    health_path: str | None = "/health"
    allow_remote: bool = False
    # Recycle each server process after this many requests (apache only; 0: never).
    maximum_requests: int = defaults.MAXIMUM_REQUESTS
    # --preempt: forced thread switches in the app's code (None: off), and the folder where
    # each target process writes which app lines each request ran (None: not recorded).
    preempt: Preempt | None = None
    trace_dir: str | None = None
    # The app's working directory (None: racecheck's), and its own interpreter (None:
    # racecheck's), for an app with its own venv (see target/boot.py).
    cwd: str | None = None
    python: str | None = None

    def __post_init__(self) -> None:
        # Frozen means frozen: copy what a caller could mutate behind our back.
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        # Absolute, so the target finds them whatever its working directory.
        object.__setattr__(self, "pythonpath", tuple(os.path.abspath(p) for p in self.pythonpath))
        if self.server not in SERVERS:
            raise UsageError(f"unknown server {self.server!r}; use one of {', '.join(SERVERS)}")
        if self.threads < 1:
            raise UsageError(f"threads must be at least 1, not {self.threads}")
        if self.workers < 1:
            raise UsageError(f"workers must be at least 1, not {self.workers}")
        if self.workers > 1 and self.server not in MULTIPROCESS_SERVERS:
            raise UsageError(
                f"{self.server} runs a single process; --workers {self.workers} needs"
                f" --server {' or '.join(MULTIPROCESS_SERVERS)} (or drop --workers)"
            )
        if self.maximum_requests < 0:
            raise UsageError(
                f"maximum_requests must be 0 (never) or more, not {self.maximum_requests}"
            )
        if self.maximum_requests and self.server != "apache":
            raise UsageError(
                f"maximum_requests recycles mod_wsgi daemon processes: it needs --server apache,"
                f" and {self.server} has no such setting here (or drop maximum_requests)"
            )
        if self.server not in defaults.PREEMPT_SERVERS and (
            self.preempt is not None or preempting.ENV_RATE in self.env
        ):
            # Run unpreempted, a PASS would claim forced switches that never happened.
            raise UsageError(
                f"--preempt does not reach {self.server}: its request threads are made "
                "outside Python, where racecheck's tracer cannot force switches; use --server "
                f"{', '.join(defaults.PREEMPT_SERVERS)} with --preempt (or drop --preempt)"
            )
        if self.server == "apache":
            from loadtests.target import apache

            # Refused here, before anything starts: the exit is a usage error (2).
            problem = apache.missing()
            if problem:
                raise UsageError(problem)
        if not 0 <= self.port <= 65535:
            raise UsageError(f"port {self.port} is out of range; use 0 to let the OS pick one")
        module, _, attr = self.app.partition(":")
        if not module or not attr:
            raise UsageError(
                f"app {self.app!r} must be 'module:name', where name is a Flask app or a"
                " factory, e.g. 'myapp:create_app' or 'myapp.wsgi:app'"
            )
        if self.build is not None:
            if self.app != REFERENCE_APP:
                raise UsageError(
                    f"--build only selects a variant of the reference app {REFERENCE_APP};"
                    f" {self.app} reads its own configuration (pass env instead), so drop --build"
                )
            if self.build not in BUILDS:
                raise UsageError(f"unknown build {self.build!r}; use one of {', '.join(BUILDS)}")
        if self.health_path is not None and not self.health_path.startswith("/"):
            raise UsageError(f"health_path {self.health_path!r} must start with '/'")
        if not self.allow_remote and not is_loopback(self.host):
            raise UnsafeTargetError(
                f"host {self.host!r} is not a loopback address, so load could leave this"
                " machine; serve on 127.0.0.1, or pass --allow-remote if you mean it"
            )

    def __hash__(self) -> int:
        # A read-only mapping has no hash of its own; specs key a comparison matrix.
        values = (getattr(self, f.name) for f in fields(self))
        return hash(tuple(frozenset(v.items()) if isinstance(v, Mapping) else v for v in values))

    def describe(self) -> str:
        """One line for people: app, build and server, e.g. for a banner or a report."""
        build = f" (build={self.build})" if self.build else ""
        if self.server == "werkzeug":
            hosting = "werkzeug (a thread per connection)"
        elif self.server == "gunicorn":
            workers = f"{self.workers} worker{'s' if self.workers > 1 else ''}"
            hosting = f"gunicorn {workers} x{self.threads} threads"
        elif self.server == "apache":
            processes = f"{self.workers} process{'es' if self.workers > 1 else ''}"
            hosting = f"apache mod_wsgi {processes} x{self.threads} threads"
            if self.maximum_requests:
                hosting += f", recycled every {self.maximum_requests} requests"
        else:
            hosting = f"waitress x{self.threads} threads"
        forced = f", preempt rate {self.preempt.rate:g}" if self.preempt is not None else ""
        return f"{self.app}{build} on {hosting}{forced}"


class RunningTarget:
    """A target being served: its URL, its process, and the listening socket it keeps."""

    def __init__(self, spec: TargetSpec, listener: socket.socket, log_path: Path | None) -> None:
        self.spec = spec
        self.log_path = log_path
        self._listener = listener
        self.port: int = listener.getsockname()[1]
        host = f"[{spec.host}]" if ":" in spec.host else spec.host
        self.url = f"http://{host}:{self.port}"
        self._lock = threading.Lock()  # a nemesis thread restarts while others stop
        self._stopped = False
        self._scratch = _scratch_dir(spec)
        self._apache: tuple[Path, tuple[str, str] | None] | None = None
        self._ready: ReadyPipe | None = None
        try:
            if spec.server == "apache":
                self._apache = _prepare_apache(spec, self._scratch)
            self.process, self._log_offset = self._spawn()
        except BaseException:
            self._remove_scratch()
            raise

    def __repr__(self) -> str:
        return f"<RunningTarget {self.url} pid={self.pid} {self.spec.describe()!r}>"

    def __enter__(self) -> RunningTarget:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The server's pid (gunicorn's arbiter, apache's supervisor)."""
        return self.process.pid

    def alive(self) -> bool:
        """True while the server process runs."""
        return self.process.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """Stop the server and release the port; idempotent."""
        with self._lock:
            self._stopped = True
            if self._ready is not None:
                self._ready.close()
            self.process.stop(grace)
            self._listener.close()
            self._remove_scratch()

    def _remove_scratch(self) -> None:
        for folder in (self._scratch, self._apache[0] if self._apache else None):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    def abandon(self) -> None:
        """The server died on its own and will not be restarted: close the port.

        Connections waiting in the backlog are reset and new ones refused, at once,
        instead of each waiting out its timeout for a server that is gone.
        """
        with self._lock:
            self._listener.close()

    def log_excerpt(self) -> str:
        """The last lines the server wrote since it was (last) started, for a message."""
        return self._log_excerpt()

    def kill(self) -> None:
        """SIGKILL the server now; the port stays bound, so restart() can follow."""
        self.process.kill()

    def restart(self, ready_timeout: float = 30.0) -> None:
        """Start the server again on the same port (stopped first if running); wait until ready."""
        with self._lock:
            if self._stopped:
                raise LaunchError(f"cannot restart {self.url}: the target was stopped")
            self.process.stop()
            self.process, self._log_offset = self._spawn()
        self.wait_ready(ready_timeout)

    def wait_ready(self, timeout: float) -> None:
        """Return once the server is ready; else stop it and raise LaunchError.

        Without a health path the server process says when its app is loaded (see
        target/readiness.py), and no request is sent: the probe must not count.
        """
        process = self.process
        path = self.spec.health_path or "/"
        deadline = time.monotonic() + timeout
        delay, last = 0.02, "no answer"
        ready = self._ready
        if ready is not None and self.spec.health_path is None:
            loaded = ready.wait(deadline, self.alive)
            ready.close()
            if loaded:
                return
            last = "the app never finished loading"
            # No HTTP probe after this: only the exit status is still worth waiting for.
            deadline = min(deadline, time.monotonic() + 1.0)
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            deadline = time.monotonic()
        while (status := process.poll()) is None and time.monotonic() < deadline:
            try:
                answer = _probe(_connect_host(self.spec.host), self.port, path, process, deadline)
            except (OSError, http.client.HTTPException) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if answer == 200 or (answer is not None and self.spec.health_path is None):
                    return
                if answer in NO_SUCH_ROUTE and self.spec.health_path is not None:
                    process.stop()
                    raise health_refused(path, answer, "`health` under [target]")
                last = f"HTTP {answer}" if answer is not None else last
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)
        process.stop()
        if status is not None:
            what = f"exited with status {status} before it was ready"
            hint = (
                f"Check that {self.spec.app!r} imports and builds a Flask app"
                f" (flask --app {self.spec.app} routes), and the options for {self.spec.server}."
            )
        else:
            asked = f"answer GET {path}" if self.spec.health_path else "load its app"
            what = f"did not {asked} within {timeout:g} s (last: {last})"
            hint = (
                "Is the app stuck at import (a module-level app.run(), a database it waits"
                " for)? On a very loaded machine, try again."
            )
        raise LaunchError(f"{self.spec.describe()} {what}.\n{self._log_excerpt()}\n{hint}")

    def _spawn(self) -> tuple[ManagedProcess, int]:
        offset = self.log_path.stat().st_size if self.log_path and self.log_path.exists() else 0
        env = _target_env(self.spec, self._scratch)
        if self._apache is not None:
            from loadtests.target import apache

            # Apache binds the (reserved) port itself: no socket to hand down.
            argv = apache.command(self.spec, self.port, *self._apache)
            return start_process(argv, env=env, log_path=self.log_path), offset
        fd = self._listener.fileno()
        argv = [*_interpreter(self.spec), "--app", self.spec.app]
        argv += ["--server", self.spec.server, "--fd", str(fd), "--host", self.spec.host]
        argv += ["--port", str(self.port), "--threads", str(self.spec.threads)]
        argv += ["--workers", str(self.spec.workers), "--parent-pid", str(os.getpid())]
        if self._ready is not None:
            self._ready.close()
        self._ready = ready = ReadyPipe()
        argv += ["--ready-fd", str(ready.child_fd)]
        try:
            process = start_process(
                argv,
                env=env,
                cwd=Path(self.spec.cwd) if self.spec.cwd else None,
                log_path=self.log_path,
                pass_fds=(fd, ready.child_fd),
            )
        finally:
            ready.parent_side()
        return process, offset

    def _log_excerpt(self) -> str:
        if self.log_path is None:
            return "Its output went to this process's stderr: see above."
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)  # only this start's lines, not a previous run's
                lines = log.read().decode(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        except OSError as exc:
            return f"Its log {self.log_path} cannot be read: {exc}"
        if not lines:
            return f"Its log {self.log_path} is empty."
        body = "\n".join(f"    {line}" for line in lines)
        return f"Last lines of its log {self.log_path}:\n{body}"


def start_target(
    spec: TargetSpec, *, ready_timeout: float = 30.0, log_path: Path | None = None
) -> RunningTarget:
    """Bind the port, start the server in its own process group, return once it answers."""
    if spec.server != "apache" or spec.port:
        return _start_target(spec, ready_timeout, log_path)
    # Apache binds its port itself; should another process take the one we reserved
    # first (it would have to set SO_REUSEADDR too), try another.
    for attempt in range(_PORT_ATTEMPTS):
        try:
            return _start_target(spec, ready_timeout, log_path)
        except LaunchError as exc:
            if "Address already in use" not in str(exc) or attempt == _PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


_PORT_ATTEMPTS = 3


def _start_target(spec: TargetSpec, ready_timeout: float, log_path: Path | None) -> RunningTarget:
    try:
        if spec.server == "apache":
            from loadtests.target import apache

            listener = apache.reserve_port(spec.host, spec.port)
        else:
            listener = socket.create_server(
                (spec.host, spec.port),
                family=socket.AF_INET6 if ":" in spec.host else socket.AF_INET,
                backlog=socket.SOMAXCONN,
            )
    except OSError as exc:
        raise LaunchError(
            f"cannot listen on {spec.host}:{spec.port}: {exc.strerror or exc}."
            " Use port 0 to let the OS pick a free port, or free that one."
        ) from exc
    try:
        target = RunningTarget(spec, listener, log_path)
    except BaseException:
        listener.close()
        raise
    try:
        target.wait_ready(ready_timeout)
    except BaseException:  # Ctrl-C while waiting must not leave the server behind
        target.stop()
        raise
    return target


SCRATCH_ENV = "RACECHECK_SCRATCH_DIR"


def _scratch_dir(spec: TargetSpec) -> Path | None:
    """A folder for the sqlite build's database, owned (and removed) by the launcher.

    The app would otherwise make its own temp file, which gunicorn workers forked
    without the app preloaded would not share, and which werkzeug and waitress
    leave behind on SIGTERM. The same file survives a nemesis restart, as a
    database should.
    """
    if spec.build != "sqlite" or "RACECHECK_DATABASE" in spec.env:
        return None
    return Path(tempfile.mkdtemp(prefix="racecheck-db-"))


def _prepare_apache(spec: TargetSpec, scratch: Path | None) -> tuple[Path, tuple[str, str] | None]:
    """A folder for Apache's generated config and the app's WSGI script; the user to run as."""
    from loadtests.target import apache

    folder = Path(tempfile.mkdtemp(prefix="racecheck-apache-"))
    try:
        writable = (scratch,) if scratch is not None else ()
        user = apache.prepare(spec, _target_env(spec, scratch), folder, writable)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, user


def _target_env(spec: TargetSpec, scratch: Path | None = None) -> dict[str, str]:
    env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}  # the log tail must be current
    if spec.build is not None:
        env["RACECHECK_BUILD"] = spec.build
    if spec.preempt is not None:
        env.update(spec.preempt.env())
        if spec.trace_dir is not None:
            env[preempting.ENV_TRACE_DIR] = os.path.abspath(spec.trace_dir)
    if scratch is not None:
        env["RACECHECK_DATABASE"] = str(scratch / "votes.sqlite3")
        # If the launcher is SIGKILLed, the target removes it before its group ends.
        env[SCRATCH_ENV] = str(scratch)
    # The repo root too, so target_app and loadtests import even when not installed.
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*spec.pythonpath, str(_REPO_ROOT), *inherited])
    if spec.python is not None:
        # The app's venv first; racecheck's packages only for what it lacks (target/boot.py).
        env[FALLBACK_ENV] = os.pathsep.join(p for p in sys.path if p.endswith("site-packages"))
        env.pop("VIRTUAL_ENV", None)
    return env


def _interpreter(spec: TargetSpec) -> list[str]:
    """How the server process starts: racecheck's python, or the app's own (via boot)."""
    if spec.python is None:
        return [sys.executable, "-m", "loadtests.target.serve"]
    return [spec.python, "-m", "loadtests.target.boot"]


def _connect_host(host: str) -> str:
    # A server bound to every interface is reached, for the probe, on loopback.
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _probe(host: str, port: int, path: str, process: ManagedProcess, deadline: float) -> int | None:
    """GET ``path``: the status, or None if the server died or the deadline passed first."""
    conn = http.client.HTTPConnection(host, port, timeout=5.0)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        # The kernel accepts on our socket before any server does, so the answer
        # takes as long as the server's start: wait in slices to notice its death.
        while not select.select([conn.sock], [], [], 0.05)[0]:
            if process.poll() is not None or time.monotonic() >= deadline:
                return None
        return conn.getresponse().status
    finally:
        conn.close()
