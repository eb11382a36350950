"""Refuse a busy port before Locust tries it (Locust would print gevent tracebacks)."""

from __future__ import annotations

import errno
import socket

from loadtests.errors import UsageError


def refuse_busy_port(host: str, port: int, flag: str) -> None:
    """Raise UsageError when ``port`` on ``host`` cannot be bound (0: the OS picks, fine)."""
    if port == 0:
        return
    address = "0.0.0.0" if host in ("", "*", "0.0.0.0") else host
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As gevent's server does: a port left in TIME_WAIT is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"port {port} on {address} is in use ({flag}); stop what uses it, or pass "
                    f"{flag} 0 to let the OS pick a free port"
                ) from None
            raise UsageError(f"cannot use port {port} on {address} ({flag}): {exc}") from None
