"""Hosts for tests: network namespaces, each with its own address, on one private bridge.

``Hosts(["target", "master"])`` makes one namespace per name plus a hub namespace
holding a bridge; each host gets a veth into the hub and an address in 10.77.0.0/24.
Nothing is added to the machine's own namespace, so traffic stays between the
hosts, and everything is deleted on exit (deleting a namespace deletes its links).
Namespace names carry this process's pid: parallel test runs never collide.

Needs root and iproute2 (`ip`). Where namespaces cannot be created the tests skip
saying why, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from types import TracebackType

import pytest

SUBNET = "10.77.0"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def unavailable() -> str | None:
    """Why network namespaces cannot be made here (None: they can)."""
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"rcprobe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"`ip netns add` failed: {exc.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


def require() -> None:
    """Skip (outside CI) or fail (CI=true) when namespaces cannot be made."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"network namespaces are required in CI: {reason}")
    pytest.skip(f"network namespaces unavailable: {reason}")


class Hosts:
    """Named hosts, each a network namespace with one address; a context manager."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.prefix = f"rc{os.getpid()}"
        self.hub = f"{self.prefix}-hub"
        self._made: list[str] = []

    def namespace(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def address(self, name: str) -> str:
        """The host's IPv4 address."""
        return f"{SUBNET}.{self.names.index(name) + 1}"

    def argv(self, name: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run on host ``name`` (ip netns exec replaces itself with it: same pid)."""
        return ["ip", "netns", "exec", self.namespace(name), *argv]

    def run(
        self, name: str, argv: Sequence[str], timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run a command on a host to completion."""
        return subprocess.run(
            self.argv(name, argv), capture_output=True, text=True, timeout=timeout, check=False
        )

    def cut(self, name: str) -> None:
        """Take the host's link down: its connections stall, nothing reaches it."""
        _ip("-n", self.namespace(name), "link", "set", "eth0", "down")

    def __enter__(self) -> Hosts:
        try:
            self._add(self.hub)
            _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.hub, "link", "set", "br0", "up")
            for number, name in enumerate(self.names):
                ns, port = self.namespace(name), f"p{number}"
                self._add(ns)
                _ip(
                    "link",
                    "add",
                    "eth0",
                    "netns",
                    ns,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    port,
                    "netns",
                    self.hub,
                )
                _ip("-n", self.hub, "link", "set", port, "master", "br0", "up")
                _ip("-n", ns, "addr", "add", f"{self.address(name)}/24", "dev", "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
                _ip("-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise
        return self

    def _add(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self._made.append(ns)

    def close(self) -> None:
        """Delete every namespace made (and with them their links)."""
        while self._made:
            subprocess.run(
                ["ip", "netns", "del", self._made.pop()], capture_output=True, check=False
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
