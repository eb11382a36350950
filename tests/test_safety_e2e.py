"""Safety defaults end to end: loopback only, no constant secret key, size limits that hold.

Remote targets must be refused before a single connection is attempted: in-process,
every socket connect is recorded; as a real command, a listener on this machine's own
non-loopback address must never see a connection.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from loadtests.cli import main
from loadtests.defaults import SERVERS
from loadtests.target.launcher import RunningTarget, TargetSpec, start_target

RACECHECK = str(Path(sys.executable).with_name("racecheck"))
REMOTE_URLS = [
    "http://192.0.2.1:8000",  # TEST-NET-1
    "http://10.0.0.1",
    "http://[2001:db8::1]:8080",
    "http://0.0.0.0:8000",  # "every interface" is not loopback
    "http://target.example:8000",  # resolves (below) to a public address
]
COUNTER = (
    '[[counters]]\nname = "a"\nincrement = { path = "/a" }\nread = { path = "/a", json = "a" }\n'
)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every socket connect of this process (and let none happen)."""
    attempts: list[Any] = []

    def connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("a test forbids connections here")

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "target.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


@pytest.mark.parametrize("url", REMOTE_URLS)
@pytest.mark.parametrize("nemesis", [(), ("--nemesis", "reset-connections")], ids=["", "proxy"])
def test_a_remote_url_is_refused_before_any_connection(
    connections: list[Any], url: str, nemesis: tuple[str, ...]
) -> None:
    result = CliRunner().invoke(main, ["run", "--votes", "10", "--target-url", url, *nemesis])
    assert result.exit_code == 2, result.output
    assert "not a loopback address" in result.output and "--allow-remote" in result.output
    assert connections == []
    assert "Traceback" not in result.output


def test_a_target_files_remote_url_is_refused_too(connections: list[Any], tmp_path: Path) -> None:
    target = tmp_path / "remote.toml"
    target.write_text(f'[target]\nurl = "http://192.0.2.1:8000"\n{COUNTER}')
    result = CliRunner().invoke(main, ["run", "--votes", "10", "--target", str(target)])
    assert result.exit_code == 2, result.output
    assert "refusing to send load to 192.0.2.1" in result.output
    assert connections == []


def own_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        address: str = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def test_a_real_command_never_connects_to_a_non_loopback_address() -> None:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    listener = socket.create_server((address, 0))
    listener.setblocking(False)
    url = f"http://{address}:{listener.getsockname()[1]}"
    try:
        done = subprocess.run(
            [RACECHECK, "run", "--votes", "10", "--target-url", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        with pytest.raises(BlockingIOError):  # nobody knocked
            listener.accept()
    finally:
        listener.close()
    assert done.returncode == 2, done.stderr
    assert f"refusing to send load to {address}" in done.stderr
    assert "Traceback" not in done.stderr


# -- a target racecheck starts: its key and its limits -------------------------------------


@pytest.fixture(scope="module", params=SERVERS)
def target(request: pytest.FixtureRequest) -> Iterator[RunningTarget]:
    spec = TargetSpec(server=request.param, build="locked", threads=4)
    with start_target(spec, ready_timeout=60) as running:
        requests.post(running.url + "/api/resolutions", json={"text": "limits"}, timeout=10)
        yield running


def tally(target: RunningTarget) -> Any:
    return requests.get(target.url + "/api/tally", timeout=10).json()


def test_an_oversized_body_is_a_413_json_error_and_changes_nothing(target: RunningTarget) -> None:
    before = tally(target)
    body = b'{"choice": "yes", "vote_id": "' + b"a" * (1 << 20) + b'"}'
    reply = requests.post(
        target.url + "/api/votes",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 413
    assert "at most 16384 bytes" in reply.json()["error"]
    form = requests.post(
        target.url + "/vote/", data={"submit": "Aye", "x": "a" * (1 << 20)}, timeout=30
    )
    assert form.status_code == 413
    assert tally(target) == before


def test_a_streamed_body_without_length_is_refused_not_read(target: RunningTarget) -> None:
    before = tally(target)

    def chunks() -> Iterator[bytes]:
        yield b'{"choice": "yes", "vote_id": "'
        for _ in range(64):
            yield b"a" * 4096
        yield b'"}'

    reply = requests.post(
        target.url + "/api/votes",
        data=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert 400 <= reply.status_code < 500  # 413 where the server reads chunks, else 400
    assert reply.json()["error"]
    assert tally(target) == before


def test_the_secret_key_is_not_a_constant(target: RunningTarget) -> None:
    with open(f"/proc/{target.pid}/environ", "rb") as environ:
        assert not any(v.startswith(b"RACECHECK_SECRET_KEY=") for v in environ.read().split(b"\0"))
    # A flash message signed with any well-known key must not show on the page.
    for key in ("dev", "secret", "changeme", "racecheck", "development key"):
        forger = Flask("forger")
        forger.secret_key = key
        serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
        assert serializer is not None
        cookie = serializer.dumps({"_flashes": [("message", f"forged with {key}")]})
        page = requests.get(target.url + "/vote/", cookies={"session": cookie}, timeout=10)
        assert page.status_code == 200 and "forged with" not in page.text


def test_headers_and_urls_beyond_the_servers_limits_get_a_4xx(target: RunningTarget) -> None:
    big = "b" * 300_000  # beyond every server's limit (waitress: 256 KiB of headers)
    header = requests.get(target.url + "/api/tally", headers={"X-Big": big}, timeout=30)
    url = requests.get(f"{target.url}/api/tally?{big}", timeout=30)
    assert 400 <= header.status_code < 500
    assert 400 <= url.status_code < 500
    assert requests.get(target.url + "/health", timeout=10).ok  # and it still serves
