"""`racecheck run` and `racecheck check` as a user meets them: usage errors, safety, exits.

Every command is a real subprocess (its own process group); cli_support fails a test
whose command leaves a process behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.cli import TAG_VARIABLE, racecheck, tagged_processes

from loadtests.target.launcher import RunningTarget, TargetSpec, start_target

USAGE = [
    (["--votes", "10", "--duration", "1"], "give one of --votes N or --duration SECONDS, not both"),
    (
        ["--build", "locked", "--server", "waitress", "--workers", "2", "--votes", "10"],
        "--workers > 1 needs --server gunicorn",
    ),
    (
        ["--driver", "requests", "--processes", "2", "--votes", "10"],
        "--processes is for --driver locust",
    ),
    (
        ["--target-url", "http://127.0.0.1:1", "--app", "x:y", "--votes", "10"],
        "give at most one of --target-url, --app and --target",
    ),
    (
        ["--target-url", "http://127.0.0.1:1", "--race-window", "0.01", "--votes", "10"],
        "cannot reach one already running",
    ),
    (["--target-url", "127.0.0.1:5000", "--votes", "10"], "is not an http(s) URL"),
    (["--target-url", "http://127.0.0.1:99999", "--votes", "10"], "invalid port"),
    (["--target", "no/such/file.toml", "--votes", "10"], "no such target file"),
    (["--clients", "0", "--votes", "10"], "--clients"),
    (["--votez", "10"], "Did you mean one of: '--out', '--votes'?"),
]


@pytest.mark.e2e
@pytest.mark.parametrize(("args", "message"), USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_errors_exit_2_with_a_helpful_message_and_start_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "run"
    run = racecheck("run", *args, out=out)
    assert run.exit_code == 2, run.describe()
    assert message in run.stderr, run.describe()
    assert "Traceback" not in run.stderr
    assert not out.exists(), "a usage error must be refused before anything starts"


@pytest.mark.e2e
@pytest.mark.parametrize("url", ["http://192.0.2.1:5000", "http://[::]:80"])
def test_a_remote_target_url_is_refused_before_any_request(tmp_path: Path, url: str) -> None:
    out = tmp_path / "run"
    run = racecheck("run", "--target-url", url, "--votes", "10", out=out)
    assert run.exit_code == 2, run.describe()
    assert "not a loopback address" in run.stderr and "--allow-remote" in run.stderr
    assert not out.exists(), "refused before the run directory, let alone a request"


@pytest.mark.e2e
def test_help_lists_the_options_and_exit_codes() -> None:
    run = racecheck("run", "--help")
    assert run.exit_code == 0
    for option in ("--build", "--server", "--votes", "--duration", "--target", "--expect"):
        assert option in run.stdout
    top = racecheck("--help")
    assert top.exit_code == 0 and "3 UNKNOWN" in top.stdout and "check" in top.stdout


@pytest.fixture
def bound_port() -> Iterator[int]:
    """A loopback port we hold without listening: connections there are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.e2e
def test_a_target_that_refuses_connections_is_a_harness_error(
    tmp_path: Path, bound_port: int
) -> None:
    run = racecheck(
        "run",
        "--target-url",
        f"http://127.0.0.1:{bound_port}",
        "--votes",
        "10",
        out=tmp_path / "run",
    )
    assert run.exit_code == 4, run.describe()
    result = run.result()
    assert result["verdict"] == "ERROR"
    assert "setup step 'start' was not acknowledged" in result["reason"]
    assert not [op for op in run.history() if op["f"] == "vote"], "no load without a round"
    again = racecheck("check", str(run.run_dir))
    assert again.exit_code == 4, again.describe()


@pytest.fixture
def reference_target(tmp_path: Path) -> Iterator[RunningTarget]:
    target = start_target(
        TargetSpec(build="locked"), ready_timeout=60.0, log_path=tmp_path / "t.log"
    )
    try:
        yield target
    finally:
        target.stop()


@pytest.mark.e2e
def test_a_running_target_url_is_loaded_and_left_running(
    tmp_path: Path, reference_target: RunningTarget
) -> None:
    run = racecheck(
        "run",
        "--target-url",
        reference_target.url,
        "--clients",
        "8",
        "--votes",
        "300",
        out=tmp_path / "run",
    )
    assert run.exit_code == 0, run.describe()
    result = run.result()
    assert result["verdict"] == "PASS"
    assert sum(c["ok"] for c in result["counts"].values()) == 300
    assert reference_target.alive()
    # racecheck closed the round it opened, so the next run can open another.
    assert run.check("resolution")["status"] == "PASS"
    assert [op["type"] for op in run.history() if op["f"] == "stop"] == ["invoke", "ok"]


@pytest.mark.e2e
def test_check_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    run = racecheck("check", str(tmp_path))
    assert run.exit_code == 2, run.describe()
    assert "not a run directory" in run.stderr


@pytest.mark.e2e
def test_check_reports_a_corrupt_history_as_a_harness_error(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(
        json.dumps({"schema": "racecheck/result/v1", "verdict": "PASS", "final": None})
    )
    (tmp_path / "history.jsonl").write_text('{"index": 0}\n')
    run = racecheck("check", str(tmp_path))
    assert run.exit_code == 4, run.describe()
    assert "history.jsonl:1" in run.stderr


def _load_is_flowing(log: Path) -> bool:
    """Whether the target named in ``log`` has counted a vote yet."""
    if not log.exists():
        return False
    found = re.search(
        r"racecheck target: .* at 127\.0\.0\.1:(\d+)", log.read_text("utf-8", "replace")
    )
    if found is None:
        return False
    try:
        reply = requests.get(f"http://127.0.0.1:{found.group(1)}/api/tally", timeout=2)
        tally = reply.json()
    except (requests.RequestException, ValueError):
        return False
    return bool(tally.get("yes", 0) + tally.get("no", 0))


@pytest.mark.e2e
def test_sigterm_during_a_run_stops_the_target_and_still_writes_the_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    tag = "sigterm-" + os.urandom(6).hex()
    racecheck_bin = str(Path(sys.executable).with_name("racecheck"))
    process = subprocess.Popen(
        [racecheck_bin, "run", "--duration", "60", "--clients", "4", "--out", str(out)],
        env={**os.environ, TAG_VARIABLE: tag, "CI": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _load_is_flowing(out / "target.log"):
            assert process.poll() is None and time.monotonic() < deadline, "no load started"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        left = tagged_processes(tag)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert not left, f"left running after SIGTERM: {left}\n{stderr}"
    result = json.loads((out / "result.json").read_text())
    # Cut short: whatever was in flight is info, and the verdict cannot be PASS.
    assert result["verdict"] == "UNKNOWN" and process.returncode == 3, (result["reason"], stderr)
    assert any(c["name"] == "interrupted" for c in result["checks"])
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    votes = [op for op in history if op["f"] == "vote"]
    assert votes and sum(op["type"] == "invoke" for op in votes) * 2 == len(votes)


def test_the_leftover_scan_finds_a_tagged_process() -> None:
    # The guard behind every e2e test here: prove it sees what it is meant to see.
    tag = "selftest-" + os.urandom(6).hex()
    child = subprocess.Popen(
        ["sleep", "60"], env={**os.environ, TAG_VARIABLE: tag}, start_new_session=True
    )
    try:
        # The scan once missed a child this young in a full run (never when run alone; the
        # cause is not known), so poll: this test is about what the scan sees, not how soon.
        deadline = time.monotonic() + 10.0
        while tagged_processes(tag) != [child.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tagged_processes(tag) == [child.pid]
    finally:
        child.kill()
        child.wait()
    assert tagged_processes(tag) == []
