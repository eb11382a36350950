"""Who can see a run: the web UI stays on loopback, passwords stay out of the record,
``racecheck report`` renders only a comparison's own cells."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import racecheck

from loadtests.target.launcher import RunningTarget, TargetSpec, start_target
from loadtests.target.redact import redact_text, redact_url
from loadtests.target.safety import reachable_urls

SECRET = "s3cret-pw"


@pytest.mark.parametrize(
    "args",
    [
        ("--web-host", "0.0.0.0"),
        ("--web-host", "::"),
        ("--", "--web-host", "0.0.0.0"),  # passed through to Locust: the same rule
        ("--", "--master-bind-host", "*"),
        ("--", "--web-host=0.0.0.0"),
    ],
    ids=["web-host", "web-host-v6", "web-host-passed-through", "master-bind-host", "equals"],
)
def test_the_web_ui_on_every_interface_needs_allow_remote(args: tuple[str, ...]) -> None:
    run = racecheck("locust", "--web-port", "0", *args, timeout=60)
    assert run.exit_code == 2, run.describe()
    assert "pass --allow-remote" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_wildcard_host_is_shown_by_the_names_it_answers_at() -> None:
    assert reachable_urls("127.0.0.1", 8089) == ["http://127.0.0.1:8089/"]
    urls = reachable_urls("0.0.0.0", 8089)
    assert f"http://{socket.gethostname()}:8089/" in urls  # not a 127.0.0.1 URL alone
    assert reachable_urls("::1", 1) == ["http://[::1]:1/"]


def test_passwords_in_urls_are_hidden() -> None:
    assert (
        redact_url(f"http://alice:{SECRET}@127.0.0.1:5000/x") == "http://alice:***@127.0.0.1:5000/x"
    )
    assert redact_url("http://alice@127.0.0.1") == "http://alice@127.0.0.1"
    assert redact_url("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    text = f"racecheck run --target-url http://a:{SECRET}@h:1 --votes 3"
    assert redact_text(text) == "racecheck run --target-url http://a:***@h:1 --votes 3"


@pytest.fixture(scope="module")
def target() -> Iterator[RunningTarget]:
    with start_target(TargetSpec(server="waitress", build="locked", threads=4)) as running:
        yield running


def _no_secret_anywhere(run_dir: Path, *outputs: str) -> None:
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert files
    leaked = [p for p in files if SECRET.encode() in p.read_bytes()]
    assert not leaked, leaked
    assert all(SECRET not in text for text in outputs)


@pytest.mark.e2e
@pytest.mark.parametrize("reachable", [True, False], ids=["run", "setup-fails"])
def test_a_password_in_target_url_reaches_no_run_file_nor_the_console(
    tmp_path: Path, target: RunningTarget, reachable: bool
) -> None:
    port = target.port if reachable else 1  # nothing listens on port 1: the setup fails
    url = f"http://alice:{SECRET}@127.0.0.1:{port}"
    run = racecheck("run", "--target-url", url, "--votes", "50", out=tmp_path / "run")
    assert run.exit_code == (0 if reachable else 4), run.describe()
    _no_secret_anywhere(tmp_path / "run", run.stdout, run.stderr)
    assert run.result()["settings"]["target_url"] == f"http://alice:***@127.0.0.1:{port}"


@pytest.mark.parametrize("run_dir", ["../elsewhere", "/tmp", ".", "cell/../../x"])
def test_report_refuses_a_cell_outside_the_comparison(tmp_path: Path, run_dir: str) -> None:
    comparison = tmp_path / "comparison"
    comparison.mkdir()
    (tmp_path / "elsewhere").mkdir()
    summary = {"cells": [{"run_dir": run_dir, "report": f"{run_dir}/index.html"}]}
    (comparison / "summary.json").write_text(json.dumps(summary))
    run = racecheck("report", str(comparison), timeout=60)
    assert run.exit_code == 2, run.describe()
    assert "not inside" in run.stderr
    assert not (tmp_path / "elsewhere" / "index.html").exists()
