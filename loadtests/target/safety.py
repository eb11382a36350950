"""Where load may go: loopback only, unless the user says --allow-remote."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from loadtests.errors import UnsafeTargetError, UsageError


def is_loopback_host(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address.

    IP literals and ``localhost`` are answered without a DNS lookup; any other
    name must resolve, and only to loopback addresses.
    """
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_url(url: str, allow_remote: bool = False) -> str:
    """Validate a target URL and refuse non-loopback hosts before any request is sent."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--target-url {url!r} is not an http(s) URL like http://127.0.0.1:5000")
    try:
        parts.port  # noqa: B018  # parsed lazily: this is what raises for a bad port
    except ValueError:
        raise UsageError(
            f"--target-url {url!r} has an invalid port; use a number from 1 to 65535"
        ) from None
    if not allow_remote and not is_loopback_host(parts.hostname):
        raise UnsafeTargetError(
            f"refusing to send load to {parts.hostname}: it is not a loopback address. "
            "racecheck only loads 127.0.0.1/::1 by default; pass --allow-remote if you own "
            "that host and mean to load it"
        )
    return url.rstrip("/")


WILDCARD_HOSTS = ("", "*", "0.0.0.0", "::")


def check_bind_host(host: str, what: str, allow_remote: bool = False) -> str:
    """Refuse to listen on a non-loopback interface (``what``: which socket) without opt-in."""
    if allow_remote or (host not in WILDCARD_HOSTS and is_loopback_host(host)):
        return host
    where = "every interface" if host in WILDCARD_HOSTS else host
    raise UnsafeTargetError(
        f"refusing to open {what} on {where}: anyone who can reach this machine could use it."
        " Keep the default 127.0.0.1, or pass --allow-remote if you mean to expose it"
    )


def reachable_urls(host: str, port: int) -> list[str]:
    """The URLs a socket bound to ``host`` answers at, for people: all of them for a wildcard."""
    if host not in WILDCARD_HOSTS:
        shown = f"[{host}]" if ":" in host else host
        return [f"http://{shown}:{port}/"]
    names = [socket.gethostname(), "127.0.0.1"]
    return [f"http://{name}:{port}/" for name in dict.fromkeys(names)]
