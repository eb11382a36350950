"""Hosts of the test's own making: network namespaces joined to this one by veth pairs.

Tests that need a machine other than loopback (a redirect off loopback, Locust workers
on several hosts) must never touch an outside address. :func:`network_hosts` makes N
namespaces, each one a "host" with an address in a private 10.x.y.0/24 that no route
of this machine uses yet, reachable from here through a veth pair; :meth:`Host.start`
runs a command inside one. Everything (processes first, then the namespaces, which
take their veth pairs with them) is removed when the ``with`` block ends.

Two shapes: :func:`network_hosts` joins each host to this machine (a redirect test
listens there and racecheck, here, is sent to it); :class:`Hosts` joins named hosts to
each other on a private bridge in a hub namespace and adds nothing to this machine's
own namespace (Locust's master, workers and target each on a host of its own).

Needs root and iproute2's ``ip``. :func:`unavailable` says why not, if so; in CI
(``CI`` set) a test must fail on it, never skip.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import pytest

IP = shutil.which("ip") or "/usr/sbin/ip"
# The bridge of :class:`Hosts`.
SUBNET = "10.77.0"


@dataclass
class Host:
    """One namespace: its name, its address, and this side's address on the link to it."""

    namespace: str
    address: str
    gateway: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, argv: Sequence[str], **popen: object) -> subprocess.Popen[bytes]:
        """Run ``argv`` inside this host (its own process group); stopped at teardown."""
        process: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
            [IP, "netns", "exec", self.namespace, *argv], start_new_session=True, **popen
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """End every process started inside, by its process group."""
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.clear()


def _ip(*args: str, namespace: str | None = None) -> None:
    argv = [IP, "netns", "exec", namespace, IP, *args] if namespace else [IP, *args]
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None when they can."""
    if not os.path.exists(IP):
        return "iproute2's `ip` is not installed (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    probe = f"rcprobe{uuid.uuid4().hex[:6]}"
    try:
        _ip("netns", "add", probe)
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"`ip netns add` failed: {getattr(exc, 'stderr', b'') or exc!s}"
    _ip("netns", "del", probe)
    return None


def require() -> None:
    """Skip when namespaces cannot be made; in CI, fail instead (never skip silently there)."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"network namespaces are needed in CI: {reason}")
    pytest.skip(reason)


def _free_subnet() -> int:
    """A second octet for 10.N.0.0/16 that no address or route here uses yet."""
    used = subprocess.run(
        [IP, "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=True
    ).stdout
    used += subprocess.run([IP, "-4", "addr"], capture_output=True, text=True, check=True).stdout
    candidates = [n for n in range(100, 250) if f"10.{n}." not in used]
    return random.choice(candidates)


@contextlib.contextmanager
def network_hosts(count: int = 1) -> Iterator[list[Host]]:
    """``count`` namespaces reachable from here; all removed afterwards."""
    require()
    token = uuid.uuid4().hex[:5]
    octet = _free_subnet()
    hosts: list[Host] = []
    try:
        for index in range(count):
            namespace = f"rc{token}h{index}"
            outside, inside = f"rc{token}o{index}", f"rc{token}i{index}"
            host = Host(namespace, f"10.{octet}.{index}.2", f"10.{octet}.{index}.1")
            _ip("netns", "add", namespace)
            hosts.append(host)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", namespace)
            _ip("addr", "add", f"{host.gateway}/24", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("addr", "add", f"{host.address}/24", "dev", inside, namespace=namespace)
            _ip("link", "set", inside, "up", namespace=namespace)
            _ip("link", "set", "lo", "up", namespace=namespace)
        yield hosts
    finally:
        for host in hosts:
            host.stop()
            # Deleting the namespace deletes its end of the veth pair, and so the pair.
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", host.namespace)
        for index in range(count):  # a pair made before its namespace was joined
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("link", "del", f"rc{token}o{index}")


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
            subprocess.run([IP, "netns", "del", self._made.pop()], capture_output=True, check=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
