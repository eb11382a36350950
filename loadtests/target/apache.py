"""Apache httpd with mod_wsgi as a target server, started through ``mod_wsgi-express``.

Three things set Apache apart from the servers in ``wsgi.py``, and this module is
where they are handled:

* Apache binds its own port and cannot take the launcher's socket. The launcher
  reserves the port instead (:func:`reserve_port`): a socket bound with SO_REUSEADDR
  that never listens keeps other ``bind(0)`` callers off it, while Apache, which sets
  SO_REUSEADDR too, can still listen there, across a nemesis's restarts as well.
* The app runs in mod_wsgi daemon processes, not in a Python we start: it is loaded
  by a small generated WSGI script that sets the same environment and import path
  the other servers get from the launcher.
* Apache refuses to serve as root. Run as root, its children run as
  ``defaults.APACHE_USER``, who must be able to read the interpreter, the venv and
  the app: :func:`unreadable_path` finds the first folder that stops them, so the
  error can name it and the fix.

Nothing here imports mod_wsgi at module level: racecheck works without it, and only
``--server apache`` asks for it. The process tree is ``python -m
loadtests.target.apache`` (watches the launcher like ``serve.py`` does) -> Apache's
parent (root) -> its worker and mod_wsgi daemon processes, all in one process group.
"""

from __future__ import annotations

import argparse
import grp
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from loadtests import defaults
from loadtests.errors import UsageError


class TargetSpec(Protocol):
    """What this module reads of the launcher's TargetSpec (the launcher imports us)."""

    @property
    def app(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def threads(self) -> int: ...
    @property
    def workers(self) -> int: ...
    @property
    def maximum_requests(self) -> int: ...
    @property
    def env(self) -> Mapping[str, str]: ...


INSTALL = (
    "Install Apache and mod_wsgi (Debian):\n"
    "    apt-get install -y apache2 apache2-dev\n"
    f"    {sys.executable} -m pip install mod_wsgi    (or: pip install -e '.[apache]')"
)
# mod_wsgi waits this long for a daemon process to load the app; our own ready
# timeout is the real bound, so this only has to be longer than a slow import.
_STARTUP_TIMEOUT = 30
# Seconds mod_wsgi gives a daemon process to finish its requests when it stops or is
# recycled: shorter than the launcher's grace, so SIGTERM ends in Apache's own exit.
_SHUTDOWN_TIMEOUT = 3
_SCRIPT = "racecheck.wsgi"


def express_command() -> Path | None:
    """The ``mod_wsgi-express`` script beside this Python, or on PATH; None if absent."""
    beside = Path(sys.executable).parent / "mod_wsgi-express"
    if beside.exists():
        return beside
    found = shutil.which("mod_wsgi-express")
    return Path(found) if found else None


def missing() -> str | None:
    """What is missing to run ``--server apache`` (with the fix), or None when all is there."""
    if importlib.util.find_spec("mod_wsgi") is None or express_command() is None:
        return (
            f"--server apache needs mod_wsgi (mod_wsgi-express), which is not installed.\n{INSTALL}"
        )
    from mod_wsgi.express import apxs_config

    httpd = str(apxs_config.HTTPD)
    if not os.path.isabs(httpd) or not os.access(httpd, os.X_OK):
        return (
            f"--server apache needs the Apache server mod_wsgi was built against ({httpd}),"
            f" which is not installed.\n{INSTALL}"
        )
    return None


def reserve_port(host: str, port: int) -> socket.socket:
    """A bound, never-listening socket that holds ``port`` (0: one the OS picks) for Apache."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def run_as() -> tuple[str, str] | None:
    """The user and group Apache's children run as: ours unless we are root."""
    if os.geteuid() != 0:
        return None
    user = defaults.APACHE_USER
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise UsageError(
            f"racecheck runs as root, so Apache's children must run as an unprivileged user,"
            f" but user {user!r} does not exist: install apache2 (it creates it) or run"
            " racecheck as an ordinary user"
        ) from None
    return user, grp.getgrgid(entry.pw_gid).gr_name


def unreadable_path(user: str, paths: Sequence[Path]) -> Path | None:
    """The first folder above ``paths`` that ``user`` cannot enter, or path it cannot read."""
    # Folders above need only x (enter); the paths themselves r, and x when folders.
    checks: list[str] = []
    for given in paths:
        path = given.resolve()
        for part in reversed(path.parents):
            if f"x{part}" not in checks:
                checks.append(f"x{part}")
        checks.append(f"r{path}")
    # Asked of the kernel as that user, so ACLs and group membership count.
    script = (
        "for c; do p=${c#?}; case $c in"
        ' x*) [ -x "$p" ] ;; *) [ -r "$p" ] && { [ ! -d "$p" ] || [ -x "$p" ]; } ;; esac'
        ' || { echo "$p"; exit 1; }; done'
    )
    result = subprocess.run(
        ["/bin/sh", "-c", script, "sh", *checks],
        user=user,
        group=pwd.getpwnam(user).pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(result.stdout.strip()) if result.returncode else None


def can_write(user: str, folder: Path) -> bool:
    """Whether ``user`` may create files in ``folder`` (asked as that user)."""
    result = subprocess.run(
        ["/bin/sh", "-c", '[ -w "$1" ] && [ -x "$1" ]', "sh", str(folder)],
        user=user,
        group=pwd.getpwnam(user).pw_gid,
        extra_groups=[],
        check=False,
    )
    return result.returncode == 0


def _needed_paths(pythonpath: Sequence[str]) -> list[Path]:
    """What a daemon process reads: the interpreter's stdlib, the venv, the app's folders."""
    paths = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    return [Path(p) for p in sorted(paths | set(pythonpath)) if os.path.exists(p)]


def check_readable(user: str, pythonpath: Sequence[str]) -> None:
    """Refuse to start when ``user`` cannot read what mod_wsgi must load, naming the folder."""
    blocked = unreadable_path(user, _needed_paths(pythonpath))
    if blocked is None:
        return
    mode = blocked.stat().st_mode & 0o777 if blocked.exists() else 0
    # A folder on the way needs only to be entered; what mod_wsgi reads needs r too.
    need = "x" if any(blocked in p.resolve().parents for p in _needed_paths(pythonpath)) else "rx"
    raise UsageError(
        f"Apache runs the app as {user!r} (it refuses to serve as root), and {user} cannot"
        f" read {blocked} (mode {mode:o}), which holds Python, the venv or the app.\n"
        f"Let it through, e.g.:  setfacl -m u:{user}:{need} {blocked}   (apt-get install acl)\n"
        f"or:  chmod o+{need} {blocked}\n"
        "or use a Python, venv and checkout outside that folder (.ci/run does the setfacl)."
    )


def prepare(
    spec: TargetSpec, env: Mapping[str, str], folder: Path, writable: Sequence[Path] = ()
) -> tuple[str, str] | None:
    """Check the install, write the WSGI script into ``folder``; return the user to run as."""
    problem = missing()
    if problem:
        raise UsageError(problem)
    user = run_as()
    pythonpath = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if user is not None:
        check_readable(user[0], pythonpath)
        database = env.get("RACECHECK_DATABASE")
        folder_of_db = Path(database).parent if database else None
        if (
            folder_of_db is not None
            and folder_of_db not in writable
            and folder_of_db.is_dir()
            and not can_write(user[0], folder_of_db)
        ):
            # Not ours to chown (a run directory, say): say so, with the fix.
            raise UsageError(
                f"the sqlite build keeps its database in {folder_of_db}, which {user[0]}"
                " (Apache's user) cannot write. Give it a folder it can write: "
                f"setfacl -m u:{user[0]}:rwx {folder_of_db}, or set RACECHECK_DATABASE to a"
                " path in one (--nemesis kill-restart puts it in the run directory)"
            )
    # Only the harness's knobs and the target's own env: the rest of our environment
    # (HOME=/root, say) is no business of a process running as another user.
    knobs = {k: v for k, v in env.items() if k.startswith("RACECHECK_")} | dict(spec.env)
    setup = {"path": pythonpath, "env": knobs, "app": spec.app}
    (folder / _SCRIPT).write_text(
        "# Generated by racecheck: the target app as mod_wsgi loads it, in each daemon process.\n"
        "import json, os, sys\n"
        f"_SETUP = json.loads({json.dumps(setup)!r})\n"
        'sys.path[:0] = _SETUP["path"]\n'
        'os.environ.update(_SETUP["env"])\n'
        "from loadtests.target.apache import load_application\n"
        'application = load_application(_SETUP["app"])\n',
        encoding="utf-8",
    )
    if user is not None:
        # The server root is written by Apache's children (mod_wsgi's sockets) too.
        uid, gid = pwd.getpwnam(user[0]).pw_uid, grp.getgrnam(user[1]).gr_gid
        os.chown(folder, uid, gid)
        folder.chmod(0o755)
        for path in writable:  # e.g. the sqlite build's scratch folder (database, journal)
            os.chown(path, uid, gid)
    return user


def command(spec: TargetSpec, port: int, folder: Path, user: tuple[str, str] | None) -> list[str]:
    """The supervisor's command line (mod_wsgi-express start-server); called before each start."""
    express = express_command()
    assert express is not None  # prepare() checked it
    # A killed Apache leaves its pid file; should that pid be reused by then, `-k start`
    # says "httpd (pid N) already running" and exits 0 instead of starting.
    (folder / "server" / "httpd.pid").unlink(missing_ok=True)
    argv = [str(express), "start-server", str(folder / _SCRIPT)]
    argv += ["--server-root", str(folder / "server"), "--working-directory", str(folder)]
    argv += ["--host", spec.host, "--port", str(port)]
    # --workers: daemon processes, each with its own memory; --threads: per process.
    argv += ["--processes", str(spec.workers), "--threads", str(spec.threads)]
    # Apache's own connection slots (the MPM's MaxClients), apart from the app's threads.
    # mod_wsgi-express sizes them at 1.5 x the app's threads; with more clients than
    # that, the event MPM closes idle keep-alive connections as a client reuses them,
    # and those votes end as unknown outcomes that no other server produces.
    argv += ["--max-clients", str(defaults.APACHE_MAX_CLIENTS)]
    argv += ["--keep-alive-timeout", str(defaults.KEEP_ALIVE_SECONDS)]
    # Every child the slots above need from the start, and none reaped: the event MPM
    # starts 3 and forks more as the load arrives, and a child over its connection limit
    # meanwhile closes kept-alive connections as votes go out on them (unknown outcomes).
    argv += ["--initial-workers", "1", "--maximum-spare-workers", "1"]
    if spec.maximum_requests:
        argv += ["--maximum-requests", str(spec.maximum_requests)]
    # Chunked bodies reach the app, as under the other servers, and the app decides
    # (the reference app refuses them with its JSON error); else Apache answers 411 HTML.
    argv += ["--chunked-request"]
    # The error log to our stdout (the run's target.log); a locale every Debian has.
    argv += ["--log-to-terminal", "--locale", "C.UTF-8"]
    argv += ["--startup-timeout", str(_STARTUP_TIMEOUT)]
    argv += ["--shutdown-timeout", str(_SHUTDOWN_TIMEOUT)]
    if user is not None:
        argv += ["--user", user[0], "--group", user[1]]
    return [
        sys.executable,
        "-m",
        "loadtests.target.apache",
        "--parent-pid",
        str(os.getpid()),
        "--",
        *argv,
    ]


def load_application(app_ref: str) -> Any:
    """The WSGI app for a daemon process: the same loading and knobs as ``serve.py``."""
    from loadtests.target.serve import _apply_switch_interval
    from loadtests.target.wsgi import load_app

    _apply_switch_interval()
    return load_app(app_ref)


def main(argv: Sequence[str] | None = None) -> int:
    """Run mod_wsgi-express in this process group until SIGTERM or the launcher's death."""
    from loadtests.target.serve import _watch_parent

    parser = argparse.ArgumentParser(prog="python -m loadtests.target.apache")
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    # SIGTERM reaches the whole group, Apache included; here it only ends the wait.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    _watch_parent(args.parent_pid)
    # Not exec: this process stays to watch the launcher. Not a new session either:
    # Apache (run with -DFOREGROUND) stays in our group, so one killpg reaches it all.
    child = subprocess.Popen(command)
    try:
        return child.wait()
    except KeyboardInterrupt:
        try:
            child.wait(_SHUTDOWN_TIMEOUT + 1)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return 0


if __name__ == "__main__":
    sys.exit(main())
