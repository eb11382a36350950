"""The fault proxy against a tiny real HTTP server: it relays, and in a window it resets."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
import requests

from loadtests.drive.client import SessionTransport, Timeout
from loadtests.errors import UsageError
from loadtests.nemesis.proxy import FaultProxy
from loadtests.target.workload import RequestSpec


class Counter(http.server.BaseHTTPRequestHandler):
    """POST increments a counter and answers its value; keep-alive, like a real target."""

    protocol_version = "HTTP/1.1"
    hits = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Counter.lock:
            Counter.hits += 1
            body = str(Counter.hits).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is for failures."""


@pytest.fixture
def upstream() -> Iterator[http.server.ThreadingHTTPServer]:
    Counter.hits = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def proxy(upstream: http.server.ThreadingHTTPServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", upstream.server_address[1]) as the_proxy:
        yield the_proxy


def post(transport: SessionTransport, proxy: FaultProxy) -> tuple[int, str, str | None]:
    reply = transport.send(RequestSpec("POST", "/", json={}), proxy.url)
    return reply.status, reply.text, reply.error


def test_outside_a_window_it_relays_every_request_on_one_connection(proxy: FaultProxy) -> None:
    transport = SessionTransport(timeout=Timeout(connect=5, read=10))
    try:
        answers = [post(transport, proxy) for _ in range(20)]
    finally:
        transport.close()
    assert answers == [(200, str(n), None) for n in range(1, 21)]
    assert proxy.connections == 1  # keep-alive survived the relay
    assert proxy.resets == 0


def test_in_a_window_the_target_acts_but_the_client_sees_a_reset(proxy: FaultProxy) -> None:
    transport = SessionTransport(timeout=Timeout(connect=5, read=10))
    try:
        assert post(transport, proxy)[0] == 200
        proxy.set_faulty(True)
        faulted = [post(transport, proxy) for _ in range(3)]
        proxy.set_faulty(False)
        after = post(transport, proxy)
    finally:
        transport.close()
    for status, _, error in faulted:
        assert status == 0 and error is not None
        assert "reset" in error.lower() or "aborted" in error.lower(), error
    # Every faulted request reached the target and took effect: the outcome was unknown,
    # not a failure. The client reconnects afterwards as if nothing happened.
    assert Counter.hits == 5
    assert after == (200, "5", None)
    assert proxy.resets == 3


def test_a_reset_is_info_for_the_client_never_fail(proxy: FaultProxy) -> None:
    from loadtests.drive.client import Client
    from loadtests.history import History
    from loadtests.target.workload import Counter as Workcounter
    from loadtests.target.workload import Extractor, Workload

    counter = Workcounter(
        "hits",
        increment=RequestSpec("POST", "/"),
        read=RequestSpec("GET", "/"),
        read_value=Extractor(regex=r"(\d+)"),
    )
    transport = SessionTransport()
    client = Client(transport, proxy.url, Workload("w", (counter,)), History(), 0)
    proxy.set_faulty(True)
    try:
        op = client.vote("hits", "v-1")
    finally:
        transport.close()
    assert op.type == "info"
    assert Counter.hits == 1


def test_close_ends_the_relays_and_frees_the_port(
    upstream: http.server.ThreadingHTTPServer,
) -> None:
    proxy = FaultProxy("127.0.0.1", upstream.server_address[1])
    session = requests.Session()
    assert session.post(proxy.url, data=b"x", timeout=10).status_code == 200
    proxy.close()  # a keep-alive connection is still open: close() must not wait on it
    assert not any(t.is_alive() for t in threading.enumerate() if "racecheck-proxy" in t.name)
    with pytest.raises(requests.ConnectionError):
        requests.post(proxy.url, data=b"x", timeout=5)
    session.close()


def test_an_unreachable_target_is_a_reset_not_a_refusal() -> None:
    # The client did reach something (the proxy), so it cannot say the request was
    # never delivered: a reset (info), not a refusal (fail).
    transport = SessionTransport(timeout=Timeout(connect=5, read=10))
    with FaultProxy("127.0.0.1", 9) as proxy:  # the discard port: nothing listens
        reply = transport.send(RequestSpec("POST", "/"), proxy.url)
    transport.close()
    assert reply.error is not None and not reply.refused


def test_it_listens_on_loopback_only() -> None:
    with pytest.raises(UsageError, match="loopback only"):
        FaultProxy("127.0.0.1", 9, host="0.0.0.0")
