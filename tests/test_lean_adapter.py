"""The lean adapter answers as requests' HTTPAdapter does, on a real server on 127.0.0.1.

Same Session on top (cookies, redirects), so the replies, the cookie jar and the
redirect history must match HTTPAdapter's request for request; connections are
kept alive, and one the server closed is replaced rather than failing a vote.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from loadtests.drive.adapter import LeanHTTPAdapter
from loadtests.drive.client import SessionTransport, Timeout, new_session
from loadtests.target.workload import RequestSpec


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections = 0  # one handler per connection
    finished = threading.Event()  # set when a handler's connection is closed

    def setup(self) -> None:
        type(self).connections += 1
        super().setup()

    def finish(self) -> None:
        super().finish()
        type(self).finished.set()

    def log_message(self, *_args: object) -> None:
        """Quiet."""

    def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        cookie = self.headers.get("Cookie", "")
        routes: dict[str, tuple[int, bytes, list[tuple[str, str]]]] = {
            "/login": (302, b"", [("Location", "/home"), ("Set-Cookie", "sid=abc; Path=/")]),
            "/home": (200, f"cookie={cookie}".encode(), [("Content-Type", "text/plain")]),
            "/gz": (
                200,
                gzip.compress(b'{"count": 7}'),
                [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            ),
            "/twice": (200, b"x", [("X-Dup", "a"), ("X-Dup", "b")]),
            "/close": (200, b"bye", [("Connection", "close")]),
            "/drop": (200, b"dropped", []),
        }
        status, body, headers = routes.get(self.path, (404, b"nope", []))
        self._reply(status, body, headers)
        if self.path == "/drop":
            # Closed after a keep-alive reply, as a server's idle timeout would: the
            # client learns of it only when it next uses the connection.
            self.close_connection = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        kind = self.headers.get("Content-Type", "")
        self._reply(200, b"got " + kind.encode() + b" " + body, [("Content-Type", "text/plain")])


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _urllib3_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(max_retries=0))
    return session


def _seen(session: requests.Session, method: str, url: str, **kwargs: object) -> tuple[object, ...]:
    response = session.request(method, url, timeout=5, **kwargs)  # type: ignore[arg-type]
    headers = {k: v for k, v in response.headers.items() if k not in ("Date", "Server")}
    return (
        response.status_code,
        response.text,
        headers,
        response.encoding,
        [r.status_code for r in response.history],
        response.url,
        dict(session.cookies),
    )


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/login", {}),  # a redirect that sets a cookie, then a page that reads it
        ("GET", "/gz", {}),
        ("GET", "/twice", {}),
        ("GET", "/missing", {}),
        ("POST", "/vote", {"json": {"choice": "yes"}}),
        ("POST", "/vote", {"data": {"action": "Aye", "name": "caf\u00e9"}}),
        ("POST", "/vote", {}),
    ],
)
def test_the_lean_adapter_answers_as_httpadapter_does(
    server: str, method: str, path: str, kwargs: dict[str, object]
) -> None:
    lean, standard = new_session(), _urllib3_session()
    try:
        assert isinstance(lean.get_adapter(server), LeanHTTPAdapter)
        assert _seen(lean, method, server + path, **kwargs) == _seen(
            standard, method, server + path, **kwargs
        )
    finally:
        lean.close()
        standard.close()


def test_connections_are_kept_alive_and_a_closed_one_is_replaced(server: str) -> None:
    _Handler.connections = 0
    transport = SessionTransport(timeout=Timeout(connect=2.0, read=5.0))
    try:
        replies = [
            transport.send(RequestSpec("POST", "/v", json={"n": n}), server) for n in range(5)
        ]
        assert _Handler.connections == 1  # one keep-alive connection for five requests
        closing = transport.send(RequestSpec("GET", "/close"), server)
        after = transport.send(RequestSpec("GET", "/home"), server)
        assert _Handler.connections == 2  # "Connection: close" was honoured
        _Handler.finished.clear()
        dropped = transport.send(RequestSpec("GET", "/drop"), server)
        assert _Handler.finished.wait(5)  # the server has closed the idle connection
        again = transport.send(RequestSpec("GET", "/home"), server)
    finally:
        transport.close()
    assert [r.status for r in replies] == [200] * 5 and replies[2].text.endswith('{"n": 2}')
    assert (closing.status, closing.text, after.status, after.error) == (200, "bye", 200, None)
    # Noticed before use and replaced: a vote is never sent into a closed connection.
    assert (dropped.text, again.status, again.error) == ("dropped", 200, None)
    assert _Handler.connections == 3


def test_a_streamed_request_goes_to_httpadapter(server: str) -> None:
    session = new_session()
    try:
        response = session.get(server + "/home", stream=True, timeout=5)
        assert response.raw.__class__.__module__.startswith("urllib3")
        assert response.text == "cookie="
    finally:
        session.close()
