"""Redirects never carry load off loopback: a host in a network namespace proves it.

The target (tests/apps/redirects_away.py) runs on loopback and answers every vote with
``307`` to a listener on a host of the test's own making (tests/support/netns.py),
never an outside address. Without --allow-remote neither driver may connect there:
the listener counts zero connections, and each vote is recorded as ``info`` naming
the refused redirect. With --allow-remote the same run reaches it, which shows the
listener would have seen any connection.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import CliResult, racecheck
from support.hygiene import wait_for
from support.netns import Host, network_hosts

from loadtests.drive.redirects import refusal

pytestmark = [pytest.mark.e2e]

APPS = Path(__file__).parent / "apps"
PORT = 8000
# Counts each connection (one line per accept in the log) and answers it as a vote would.
LISTENER = textwrap.dedent(
    """
    import json, os, socket, sys
    address, log = sys.argv[1], sys.argv[2]
    server = socket.create_server((address, 8000))
    open(log + ".ready", "w").close()
    hits = 0
    while True:
        conn, peer = server.accept()
        hits += 1
        with open(log, "a") as out:
            out.write(f"{peer[0]}\\n")
        conn.settimeout(2)
        try:
            conn.recv(65536)
            body = json.dumps({"hits": hits}).encode()
            head = f"HTTP/1.1 200 OK\\r\\nContent-Length: {len(body)}\\r\\nConnection: close\\r\\n"
            conn.sendall(head.encode() + b"Content-Type: application/json\\r\\n\\r\\n" + body)
        except OSError:
            pass
        conn.close()
    """
)


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[Host, Path]]:
    """A listener on port 8000 of a namespace host; its connection log."""
    with network_hosts(1) as (host,):
        log = tmp_path / "connections.log"
        host.start([sys.executable, "-c", LISTENER, host.address, str(log)])
        assert wait_for(Path(f"{log}.ready").exists, timeout=30), "the listener never started"
        yield host, log


def connections(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def run_redirected(tmp_path: Path, host: Host, *args: str, preflight: bool = False) -> CliResult:
    """A run of the redirect target; with ``preflight`` the harness's own requests go first."""
    target = APPS / "redirects_away.toml"
    if preflight:  # the same file with preflight on, still importing the app from APPS
        text = target.read_text().replace("preflight = false", f'cwd = "{APPS}"')
        target = tmp_path / "redirects_preflight.toml"
        target.write_text(text)
    return racecheck(
        "run", "--target", str(target), "--votes", "40", "--clients", "4",
        *args, out=tmp_path / "run", env={"REDIRECT_TO": f"http://{host.address}:{PORT}"},
    )  # fmt: skip


@pytest.mark.parametrize("driver", ["requests", "locust"])
def test_a_redirect_off_loopback_is_refused_and_recorded(
    tmp_path: Path, remote: tuple[Host, Path], driver: str
) -> None:
    host, log = remote
    run = run_redirected(tmp_path, host, "--driver", driver)
    assert connections(log) == 0, f"load reached {host.address}\n{run.describe()}"
    votes = [op for op in run.history() if op["f"] == "vote" and op["type"] != "invoke"]
    assert len(votes) == 40, run.describe()
    for op in votes:
        assert op["type"] == "info", op
        assert f"refused to follow a redirect to http://{host.address}" in op["value"]["error"]
    assert "Traceback" not in run.stderr


def test_preflight_meets_the_refused_redirect_first(
    tmp_path: Path, remote: tuple[Host, Path]
) -> None:
    """The harness's own requests keep the rule too: preflight stops, nothing left loopback."""
    host, log = remote
    run = run_redirected(tmp_path, host, preflight=True)
    assert connections(log) == 0, f"preflight reached {host.address}\n{run.describe()}"
    assert run.exit_code in (2, 4), run.describe()
    assert f"refused to follow a redirect to http://{host.address}" in run.stdout, run.describe()
    assert "Traceback" not in run.stderr


def test_with_allow_remote_the_redirect_is_followed(
    tmp_path: Path, remote: tuple[Host, Path]
) -> None:
    """With --allow-remote the harness (preflight) and the load both follow it."""
    host, log = remote
    run = run_redirected(tmp_path, host, "--allow-remote", preflight=True)
    assert connections(log) >= 41, run.describe()  # preflight's vote, then the load's 40
    votes = [op for op in run.history() if op["f"] == "vote" and op["type"] == "ok"]
    assert len(votes) == 40


def test_the_rule_is_the_target_urls() -> None:
    origin = "http://127.0.0.1:5000/hit"
    assert refusal(origin, "http://127.0.0.1:5000/other", False) is None
    assert refusal(origin, "http://localhost:6000/", False) is None
    assert refusal(origin, "http://[::1]:6000/", False) is None
    assert refusal(origin, "http://10.1.2.3/", False) is not None
    assert refusal(origin, "http://10.1.2.3/", True) is None
    assert refusal(origin, "ftp://127.0.0.1/", True) is not None
    hidden = refusal(origin, "http://bob:pw@192.168.1.1/", False)
    assert hidden is not None and "pw" not in hidden


def test_network_hosts_are_removed_afterwards() -> None:
    with network_hosts(2) as hosts:
        names = [h.namespace for h in hosts]
        assert len({h.address for h in hosts}) == 2
        ping = hosts[0].start(["true"])
        assert ping.wait(30) == 0
    listed = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert not any(name in listed for name in names)
    links = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout
    assert not any(name[:-2] in link["ifname"] for link in json.loads(links) for name in names)
