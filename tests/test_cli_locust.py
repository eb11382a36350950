"""``racecheck locust``'s refusals: a busy web port is a usage error, said in one line."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from loadtests.check.exitcodes import EXIT_USAGE
from loadtests.swarm.driver import locust_env


def test_a_busy_web_port_exits_2_naming_the_port_and_the_fix(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "loadtests", "locust", "--web-port", str(port)]
        done = subprocess.run(
            [*command, "--out", str(tmp_path / "reports")],
            env=locust_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == EXIT_USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"racecheck: error: port {port} on 127.0.0.1 is in use (--web-port); stop what uses "
        "it, or pass --web-port 0 to let the OS pick a free port"
    ]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "reports" / "target.log").exists()  # no target was started
