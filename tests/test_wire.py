"""The raw-socket HTTP/1.1 connection under the lean adapter (drive/wire.py).

Two kinds of server: a small Flask app on a real waitress server, whose chunked,
close-delimited, HEAD, 204 and 304 replies must read exactly as requests' own
HTTPAdapter reads them; and a scripted socket server that writes a reply byte for
byte (split across writes, cut off, malformed), to check that every broken reply is
a clear error recorded as ``info``, never a crash and never a body taken as whole.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence

import flask
import pytest
import requests
import waitress

from loadtests.drive import wire
from loadtests.drive.adapter import _dropped
from loadtests.drive.client import Client, SessionTransport, Timeout, new_session
from loadtests.history import History
from loadtests.target.workload import RequestSpec, reference_workload


def _app() -> flask.Flask:
    app = flask.Flask(__name__)

    @app.get("/stream")
    def stream() -> flask.Response:
        # A generator and no length: waitress sends it chunked (HTTP/1.1).
        return flask.Response((part for part in ("one,", "two,", "three")), mimetype="text/plain")

    @app.get("/close")
    def close() -> flask.Response:
        return flask.Response("bye", headers={"Connection": "close"})

    @app.get("/empty")
    def empty() -> tuple[str, int]:
        return "", 204

    @app.get("/cached")
    def cached() -> tuple[str, int, dict[str, str]]:
        return "", 304, {"ETag": '"v1"'}

    @app.route("/page", methods=["GET", "HEAD"])
    def page() -> str:
        return "x" * 5000

    @app.get("/cookies")
    def cookies() -> flask.Response:
        response = flask.Response("set")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    return app


@pytest.fixture(scope="module")
def real_server() -> Iterator[str]:
    server = waitress.create_server(_app(), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


def _standard_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(max_retries=0))
    return session


def _seen(session: requests.Session, method: str, url: str) -> tuple[object, ...]:
    response = session.request(method, url, timeout=5)
    headers = {k: v for k, v in response.headers.items() if k not in ("Date", "Server")}
    return response.status_code, response.content, headers, dict(session.cookies)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/stream"),
        ("GET", "/close"),
        ("GET", "/empty"),
        ("GET", "/cached"),
        ("GET", "/page"),
        ("HEAD", "/page"),
        ("GET", "/cookies"),
    ],
)
def test_real_replies_read_as_httpadapter_reads_them(
    real_server: str, method: str, path: str
) -> None:
    lean, standard = new_session(), _standard_session()
    try:
        # Twice on the same session: whatever the first reply left on the connection
        # (nothing, or a closed socket) must not spoil the second.
        for _ in range(2):
            assert _seen(lean, method, real_server + path) == _seen(
                standard, method, real_server + path
            )
    finally:
        lean.close()
        standard.close()


class _Scripted:
    """A socket server that answers each connection's request with scripted writes."""

    def __init__(self, writes: Sequence[bytes], close: bool = True) -> None:
        self.writes = writes
        self.close = close
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return  # closed before anyone connected
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data)
            for piece in self.writes:
                conn.sendall(piece)
                time.sleep(0.005)  # separate writes, so the client reads them apart
            if not self.close:
                conn.recv(65536)  # hold the connection until the client leaves

    def stop(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


def _send(writes: Sequence[bytes], method: str = "GET") -> requests.Response:
    scripted = _Scripted(writes)
    session = new_session()
    try:
        return session.request(method, scripted.url + "/x", timeout=5)
    finally:
        session.close()
        scripted.stop()


def test_a_chunked_reply_split_across_writes_is_joined() -> None:
    response = _send(
        [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n",
            b"Content-Type: text/plain\r\n\r\n4;ext=1\r\nWiki\r\n",
            b"5\r\npedia\r\n",
            b"0\r\nX-Trailer: dropped\r\n\r\n",
        ]
    )
    assert response.status_code == 200 and response.text == "Wikipedia"


def test_a_reply_without_a_length_runs_until_the_close() -> None:
    response = _send([b"HTTP/1.0 200 OK\r\n\r\npart one, ", b"part two"])
    assert response.text == "part one, part two"


def test_interim_replies_are_skipped_and_a_folded_header_is_joined() -> None:
    response = _send(
        [
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 201 Created\r\nX-Long: first\r\n second\r\nX-Dup: a\r\nX-Dup: b\r\n",
            b"Content-Length: 2\r\n\r\nok",
        ]
    )
    assert response.status_code == 201 and response.text == "ok"
    assert response.headers["x-long"] == "first second"
    assert response.headers["X-Dup"] == "a, b"


@pytest.mark.parametrize(
    ("writes", "error"),
    [
        ([b"HTTP/2 200 OK\r\n\r\n"], "malformed status line"),
        ([b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n"], "malformed status line"),
        ([b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"], "malformed header line"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello"], "Content-Length"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"only"], "cut off: 4 of 10"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], "chunk size"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"], "cut off"),
        ([b"HTTP/1.1 200 OK\r\nContent-"], "in the reply's head"),
        ([], "without a reply"),
        ([b"HTTP/1.1 101 Switching Protocols\r\n\r\n"], "101"),
    ],
)
def test_a_broken_reply_is_a_clear_error_and_an_unknown_vote(
    writes: list[bytes], error: str
) -> None:
    scripted = _Scripted(writes)
    transport = SessionTransport(timeout=Timeout(connect=2.0, read=5.0))
    history = History("requests")
    client = Client(transport, scripted.url, reference_workload(), history, 0)
    try:
        done = client.vote("yes", "v-1")
    finally:
        transport.close()
        scripted.stop()
    assert done.type == "info"  # it may have been applied: never a lost or failed vote
    assert error in done.value["error"] and "ConnectionError" in done.value["error"]
    assert len(scripted.requests) == 1  # sent once, never resent


def test_a_header_that_would_split_the_request_is_refused_before_sending() -> None:
    scripted = _Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    transport = SessionTransport(timeout=Timeout(connect=2.0, read=2.0))
    try:
        spec = RequestSpec("GET", "/x", headers={"X-Token": "a\r\nX-Evil: 1"})
        reply = transport.send(spec, scripted.url)
    finally:
        transport.close()
        scripted.stop()
    assert reply.error is not None and "CR or LF" in reply.error
    assert scripted.requests == []


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1 020 OK",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1  200 OK",
        b"HTTP/1.1 200 OK\r\n folded first",
        b"HTTP/1.1 200 OK\r\nA b: c",
        b"HTTP/1.1 200 OK\r\n: empty name",
    ],
)
def test_parse_head_refuses_what_is_not_http(head: bytes) -> None:
    with pytest.raises(wire.MalformedReply):
        wire.parse_head(head)


def test_parse_head_reads_the_usual_head() -> None:
    head = b"HTTP/1.0 404 Not Found\r\nServer: x\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nE:"
    assert wire.parse_head(head) == (
        "HTTP/1.0",
        404,
        "Not Found",
        [("Server", "x"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("E", "")],
    )
    assert wire.parse_head(b"HTTP/1.1 204") == ("HTTP/1.1", 204, "", [])


def test_an_idle_connection_is_dropped_only_once_the_server_closed_it() -> None:
    ours, theirs = socket.socketpair()
    conn = wire.Wire(ours)
    try:
        assert not _dropped(conn)  # alive and quiet: reused
        theirs.close()
        assert _dropped(conn)  # EOF waiting: replaced, before anything is sent on it
    finally:
        conn.close()
