"""A lean transport adapter for plain-HTTP sessions: requests above it, a raw socket below.

requests lets a Session mount any transport adapter (its documented extension point).
The default one, HTTPAdapter, goes through urllib3: a pool manager, a pool key, a
header dict rebuilt twice, a response wrapper and the cookie jar filled twice, per
request. That was most of the driver's client CPU per vote (`racecheck bench`: about
500 µs per vote against 330 µs with this adapter). This adapter keeps requests'
Session in charge (cookies, redirects, hooks, auth, the prepared request and the
Response) and sends the prepared request itself, on a keep-alive connection whose
reply is read by drive/wire.py's small strict parser (http.client's goes through the
email package, a third of a vote's CPU).

It never retries, like ``HTTPAdapter(max_retries=0)``: a silent retry could apply a
vote twice. A pooled connection that the server has closed meanwhile is noticed
before it is used (it is readable: EOF), as urllib3 does, and replaced; nothing is
resent once it was written. Anything it does not handle (a proxy, a streamed or file
body, ``stream=True``, ``Expect: 100-continue``, https) goes to the standard
HTTPAdapter, so requests' behaviour is unchanged there.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import io
import select
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import ProtocolError
from urllib3.response import HTTPResponse

from loadtests.drive import wire

_Key = tuple[str, int]
_Address = tuple[_Key, str, str]  # (host, port), request target, Host header


class _Raw:
    """What requests reads from ``Response.raw`` once the body is in.

    ``_original_response`` is what requests' cookie extraction looks for: None when the
    reply sets no cookie, so Session.send skips the cookie jar's header parsing for a
    reply with nothing in it for the jar; else an object whose ``msg`` is the reply's
    headers as http.client gives them (the cookie jar reads them with ``get_all``).
    The body has already been read, so reading gives nothing and releasing does nothing.
    """

    def __init__(self, reply: wire.Reply, sets_cookies: bool) -> None:
        self._original_response = _CookieSource(reply.headers) if sets_cookies else None
        self.status = reply.status
        self.reason = reply.reason

    def read(self, *_args: Any, **_kwargs: Any) -> bytes:
        return b""

    def release_conn(self) -> None:
        """The connection went back to the pool when the body was read."""

    def close(self) -> None:
        """Nothing is held open."""


class _CookieSource:
    """A reply's headers in the shape requests' cookie extraction reads (``.msg``)."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.msg = http.client.HTTPMessage()
        for name, value in headers:
            self.msg[name] = value  # a Message appends: repeated Set-Cookie lines stay apart


def _dropped(conn: wire.Wire) -> bool:
    """Whether an idle keep-alive connection was closed by the server (it reads as EOF).

    poll, not select: select refuses descriptors above 1023, which a run with a
    thousand clients reaches, and then every request would open a new connection.
    """
    poller = select.poll()
    try:
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _host_header(hostname: str, port: int) -> str:
    """Host as http.client writes it: brackets round an IPv6 address, no default port."""
    host = f"[{hostname}]" if ":" in hostname else hostname
    return host if port == 80 else f"{host}:{port}"


def _header_lines(headers: Mapping[str, str]) -> Mapping[str, tuple[str, str]]:
    """The request's headers as lowered name -> (name, value).

    A CaseInsensitiveDict (what requests prepares) holds exactly that already; reading
    it through its Mapping methods costs a Python call per header and per lookup.
    """
    if isinstance(headers, CaseInsensitiveDict):
        return headers._store  # type: ignore[attr-defined,no-any-return]
    return {name.lower(): (name, value) for name, value in headers.items()}


@functools.lru_cache(maxsize=64)
def _encoding(content_type: str) -> str | None:
    """requests' encoding for a Content-Type, worked out once per distinct value."""
    return get_encoding_from_headers(CaseInsensitiveDict({"content-type": content_type}))


def _decoded(body: bytes, headers: Mapping[str, str]) -> bytes:
    """The body as requests would give it: a Content-Encoding undone by urllib3's decoders."""
    if not body:
        return body
    # Rare (the apps under test do not compress): exactly urllib3's decoding, at its cost.
    wrapped = HTTPResponse(
        body=io.BytesIO(body), headers=dict(headers), preload_content=True, decode_content=True
    )
    return wrapped.data


class LeanHTTPAdapter(BaseAdapter):
    """Sends plain-HTTP prepared requests on pooled keep-alive connections (drive/wire.py)."""

    MAX_ADDRESSES = 64

    def __init__(self, pool_size: int = 4) -> None:
        super().__init__()
        self.pool_size = pool_size
        self._idle: dict[_Key, list[wire.Wire]] = {}
        self._addresses: dict[str, _Address] = {}
        self._fallback = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request (see the module docstring for what goes to HTTPAdapter)."""
        body = request.body
        if stream or proxies or not isinstance(body, (bytes, str, type(None))):
            return self._fallback.send(request, stream, timeout, verify, cert, proxies)
        if isinstance(body, str):
            body = body.encode("utf-8")
        address = self._address(request.url or "")
        if address is None:
            return self._fallback.send(request, stream, timeout, verify, cert, proxies)
        key, path, host_header = address
        lines = _header_lines(request.headers)
        if "expect" in lines:  # 100-continue: HTTPAdapter's job
            return self._fallback.send(request, stream, timeout, verify, cert, proxies)
        # requests prepared Accept-Encoding and Content-Length (0 for an empty POST);
        # Host comes from the URL, as http.client gives it, unless the request names its own.
        host = None if "host" in lines else host_header
        try:
            message = wire.request_bytes(
                request.method or "GET", path, host, list(lines.values()), body or b""
            )
        except (ValueError, UnicodeError) as exc:
            raise requests.exceptions.InvalidHeader(exc, request=request) from exc
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        conn = self._connection(key, connect, read, request)
        try:
            reply = conn.exchange(message, request.method or "GET")
        except TimeoutError as exc:
            conn.close()
            raise requests.ReadTimeout(exc, request=request) from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            # Worded as urllib3 words it ("Connection aborted.", then the cause). Never
            # resent: the server may have applied it (an info op, not a lost vote).
            aborted = ProtocolError("Connection aborted.", exc)
            raise requests.ConnectionError(aborted, request=request) from exc
        if reply.will_close:
            conn.close()
        else:
            self._release(key, conn)
        return self._response(request, reply)

    def _address(self, url: str) -> _Address | None:
        """Where a plain-HTTP URL goes (None: not one for this adapter), parsed once per URL."""
        address = self._addresses.get(url)
        if address is None:
            parts = urlsplit(url)
            hostname, port = parts.hostname, parts.port or 80
            if parts.scheme != "http" or not hostname:
                return None
            path = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
            address = ((hostname, port), path, _host_header(hostname, port))
            if len(self._addresses) < self.MAX_ADDRESSES:
                self._addresses[url] = address  # a new URL per vote is simply parsed each time
        return address

    def _connection(
        self, key: _Key, connect: Any, read: Any, request: PreparedRequest
    ) -> wire.Wire:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not _dropped(conn):
                conn.set_timeout(read)
                return conn
            conn.close()
        try:
            conn = wire.Wire.connect(key[0], key[1], connect)
        except TimeoutError as exc:
            raise requests.ConnectTimeout(exc, request=request) from exc
        except OSError as exc:
            # ECONNREFUSED stays in the chain: nothing was sent (the client's is_refused).
            raise requests.ConnectionError(exc, request=request) from exc
        conn.set_timeout(read)
        return conn

    def _release(self, key: _Key, conn: wire.Wire) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.pool_size:
            idle.append(conn)  # list.append is atomic: sessions shared by threads are safe
        else:
            conn.close()

    def _response(self, request: PreparedRequest, reply: wire.Reply) -> Response:
        """The Response HTTPAdapter.build_response would make, with the body already read."""
        response = Response()
        response.status_code = reply.status
        headers = response.headers
        # Filled as its own __setitem__ would (lowered name -> (name, value)), without a
        # Python-level call per header; repeated headers are joined, as urllib3's
        # HTTPHeaderDict gives them to requests.
        store = headers._store  # type: ignore[attr-defined]
        for name, value in reply.headers:
            lowered = name.lower()
            seen = store.get(lowered)
            store[lowered] = (name, value) if seen is None else (name, f"{seen[1]}, {value}")
        content_type = store.get("content-type")
        response.encoding = _encoding(content_type[1]) if content_type is not None else None
        sets_cookies = "set-cookie" in store or "set-cookie2" in store
        response.raw = _Raw(reply, sets_cookies)
        response.reason = reply.reason
        response.url = request.url or ""
        response.request = request
        response.connection = self  # type: ignore[assignment]  # any adapter will do
        body = reply.body
        response._content = _decoded(body, headers) if "content-encoding" in store else body
        response._content_consumed = True  # type: ignore[attr-defined]
        if sets_cookies:
            extract_cookies_to_jar(response.cookies, request, response.raw)  # type: ignore[no-untyped-call]
        return response

    def close(self) -> None:
        """Close every pooled connection (and the fallback adapter's)."""
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        self._fallback.close()

    def __del__(self) -> None:
        # A session dropped without close() (a harness client, a test) must not leave
        # its keep-alive sockets for the garbage collector to find open (ResourceWarning).
        with contextlib.suppress(Exception):
            self.close()
