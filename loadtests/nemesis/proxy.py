"""A loopback TCP proxy that can cut connections mid-request: the reset-connections fault.

The driver talks to the proxy and the proxy to the target. While a fault window
is open, the proxy still forwards each request to the target, but when the
target's reply starts to come back it aborts the client's connection with a TCP
RST instead of relaying it. The target has handled the request (a vote took
effect) and the client only sees "connection reset by peer": exactly the case
Jepsen calls ``info``, an operation whose outcome the client cannot know.

It relays bytes, never parses HTTP, so it works for any target.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from types import TracebackType

from loadtests.errors import UsageError

_POLL = 0.2  # seconds between checks of the closed flag in every blocking wait
_CHUNK = 65536


def abort(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP RST rather than a FIN (SO_LINGER on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FaultProxy:
    """Relays 127.0.0.1:<port> to ``upstream``; while faulty, resets clients as replies arrive."""

    def __init__(self, upstream_host: str, upstream_port: int, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise UsageError(f"the fault proxy listens on loopback only, not {host!r}")
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((host, 0), backlog=socket.SOMAXCONN)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._faulty = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._resets = 0
        self._connections = 0
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(
            target=self._accept_loop, name="racecheck-proxy-accept", daemon=True
        )
        self._acceptor.start()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def resets(self) -> int:
        """How many client connections were aborted with a RST so far."""
        with self._lock:
            return self._resets

    @property
    def connections(self) -> int:
        """How many client connections were accepted so far."""
        with self._lock:
            return self._connections

    def set_faulty(self, on: bool) -> None:
        """Open (True) or close (False) a fault window."""
        if on:
            self._faulty.set()
        else:
            self._faulty.clear()

    def close(self, timeout: float = 2.0) -> None:
        """Stop accepting, end every relay, and wait (bounded) for their threads."""
        self._closed.set()
        self._faulty.clear()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._acceptor.join(timeout)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                ready = select.select([self._listener], [], [], _POLL)[0]
                if not ready:
                    continue
                client, _ = self._listener.accept()
            except OSError:  # closed under us by close()
                return
            thread = threading.Thread(
                target=self._relay, args=(client,), name="racecheck-proxy-relay", daemon=True
            )
            with self._lock:
                self._connections += 1
                # Forget finished relays so a long run does not keep every thread object.
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5.0)
        except OSError:
            # The target is unreachable: the client learns nothing more than from a reset.
            abort(client)
            return
        # Bounded sends: a client that stops reading must not pin a relay thread forever.
        client.settimeout(5.0)
        try:
            self._pump(client, upstream)
        finally:
            client.close()
            upstream.close()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        while not self._closed.is_set():
            try:
                readable = select.select(list(peers), [], [], _POLL)[0]
            except (OSError, ValueError):  # a socket was closed
                return
            for source in readable:
                try:
                    data = source.recv(_CHUNK)
                except OSError:
                    return
                if not data:
                    return  # either side hung up: end the whole connection
                if source is upstream and self._faulty.is_set():
                    # The target answered, so the request was handled; the client
                    # must not learn how. A RST makes its outcome unknown.
                    abort(client)
                    with self._lock:
                        self._resets += 1
                    return
                try:
                    peers[source].sendall(data)
                except OSError:
                    return
