"""Hosts of the test's own making: network namespaces joined to this one by veth pairs.

Tests that need a machine other than loopback (a redirect off loopback, Locust workers
on several hosts) must never touch an outside address. :func:`network_hosts` makes N
namespaces, each one a "host" with an address in a private 10.x.y.0/24 that no route
of this machine uses yet, reachable from here through a veth pair; :meth:`Host.start`
runs a command inside one. Everything (processes first, then the namespaces, which
take their veth pairs with them) is removed when the ``with`` block ends.

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

import pytest

IP = shutil.which("ip") or "/usr/sbin/ip"


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
