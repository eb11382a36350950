"""``racecheck serve``: prints the URL, serves, stops on Ctrl-C or SIGTERM, refuses bad options."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from loadtests.check.exitcodes import EXIT_ERROR, EXIT_USAGE
from loadtests.cli import main
from loadtests.target.launcher import group_members

APPS = Path(__file__).parent / "apps"
READY = 60.0


@pytest.fixture
def serve() -> Iterator[subprocess.Popen[str]]:
    """Start `racecheck serve ARGS` in its own group, as a shell would; kill it if a test fails."""
    started: list[subprocess.Popen[str]] = []

    def serve(*args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(APPS)}
        process = subprocess.Popen(
            [sys.executable, "-m", "loadtests", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield serve  # type: ignore[misc]
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def read_banner(process: subprocess.Popen[str]) -> str:
    """The first line of stdout, waiting at most READY seconds for it."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(READY), "racecheck serve printed nothing"
    return process.stdout.readline()


def read_url(process: subprocess.Popen[str]) -> str:
    """The URL that the banner announces."""
    return read_url_from(read_banner(process))


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "path", "sig"),
    [
        (("--build", "unlocked", "--server", "waitress"), "/health", signal.SIGINT),
        (("--server", "gunicorn", "--workers", "2", "--threads", "4"), "/health", signal.SIGTERM),
        (("--app", "tiny_app:create_app", "--server", "werkzeug"), "/", signal.SIGINT),
    ],
    ids=["waitress-ctrl-c", "gunicorn-sigterm", "any-app-werkzeug-ctrl-c"],
)
def test_serve_prints_the_url_and_stops_cleanly(
    serve: Any, args: tuple[str, ...], path: str, sig: signal.Signals
) -> None:
    process = serve(*args)
    url = read_url(process)
    answer = requests.get(f"{url}{path}", timeout=10)
    assert answer.status_code == 200
    target_pid = answer.json()["pid"]
    target_group = os.getpgid(target_pid)
    assert target_group != process.pid, "the target must run in its own process group"

    os.killpg(process.pid, sig)  # what Ctrl-C in a terminal, or `kill`, would do
    assert process.wait(timeout=15) == 0
    assert not group_members(target_group)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}{path}", timeout=10)


@pytest.mark.e2e
def test_serve_names_what_it_serves_in_its_banner(serve: Any) -> None:
    process = serve("--build", "sqlite", "--server", "gunicorn", "--threads", "3")
    banner = read_banner(process)
    assert banner.startswith(
        "serving target_app:create_app (build=sqlite) on gunicorn 1 worker x3 threads at "
    )
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=15) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "waitress", "--workers", "2"], "needs --server gunicorn"),
        (["--app", "tiny_app:app", "--build", "unlocked"], "drop --build"),
        (["--app", "tiny_app"], "must be 'module:name'"),
        (["--host", "10.1.2.3"], "--allow-remote"),
        (["--host", "0.0.0.0"], "--allow-remote"),
        (["--threads", "0"], "Invalid value for '--threads'"),
        (["--server", "nginx"], "Invalid value for '--server'"),
        (["--build", "racy"], "Invalid value for '--build'"),
        (["--switch-interval", "0"], "Invalid value for '--switch-interval'"),
        (["--race-window", "-2"], "Invalid value for '--race-window'"),
    ],
)
def test_bad_options_exit_2_with_a_hint(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output


def test_an_app_that_cannot_start_exits_4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(APPS))
    started = time.monotonic()
    result = CliRunner().invoke(main, ["serve", "--app", "crash_at_import:app"])
    assert result.exit_code == EXIT_ERROR, result.output
    assert "exited with status 1 before it was ready" in result.output
    assert time.monotonic() - started < READY / 2


@pytest.mark.e2e
def test_serve_hosts_a_target_files_app_with_its_env(serve: Any) -> None:
    targets = Path(__file__).parent / "targets"
    process = serve("--target", str(targets / "visits_racy.toml"), "--threads", "3")
    banner = read_banner(process)
    assert "visits:create_app on waitress x3 threads" in banner  # --threads wins
    url = read_url_from(banner)
    # The file's env reached the app (it starts at 41), and serving sent it no request.
    assert "visitor number <b>42</b>" in requests.get(f"{url}/", timeout=10).text
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=15) == 0


def read_url_from(banner: str) -> str:
    found = re.search(r" at (http://127\.0\.0\.1:\d+) — Ctrl-C to stop$", banner.rstrip("\n"))
    assert found, banner
    return found.group(1)
