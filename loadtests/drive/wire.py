"""One keep-alive HTTP/1.1 connection on a raw socket, with a small, strict reply parser.

The lean adapter (drive/adapter.py) used http.client, whose reply parsing goes through
the email package (a feed parser, a policy, a Message): about half of the driver's
client CPU per vote. A reply from the servers under test is a status line, a few
headers and a body of known length; this reads exactly that, by hand:

- the status line ``HTTP/1.x NNN reason`` (anything else is a MalformedReply);
- header lines ``name: value`` ending in CRLF, an obsolete folded line joined to the
  one before it, the whole head at most MAX_HEAD bytes;
- interim 1xx replies skipped (101 refused: nothing here asks to switch protocols);
- no body after HEAD, 1xx, 204 and 304; else a chunked body, a Content-Length body,
  or a body that runs until the server closes.

A reply cut off (the server closed, or sent garbage) is an error, never a shorter
body taken as whole. Nothing here resends: the caller decides what a failure means.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import sys
from dataclasses import dataclass

MAX_HEAD = 64 * 1024  # status line and headers; http.client allows 100 headers of 64 KiB
MAX_CHUNK_LINE = 4096
_RECV = 65536
_BODILESS = frozenset({204, 304})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*?)[ \t]*\r\n")
_STATUS_TEXT = r"(HTTP/1\.[01]) ([1-9][0-9][0-9])(?: ([^\r\n]*))?"
_STATUS = re.compile(_STATUS_TEXT)
_HEAD = re.compile(_STATUS_TEXT + r"\r\n((?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n]*\r\n)*)\Z")
_OWS = " \t"  # optional whitespace around a header's value
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f-\U0010ffff]")  # controls, space, non-ASCII


class MalformedReply(http.client.HTTPException):
    """The server's reply is not HTTP/1.x as this parser reads it (or was cut off)."""


@dataclass(slots=True)
class Reply:
    """One parsed reply: status, reason, headers in order (repeats kept), the whole body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    will_close: bool


class Wire:
    """A connected socket plus the bytes read from it but not yet parsed."""

    __slots__ = ("_buf", "_pos", "_timeout", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""
        self._pos = 0
        self._timeout: float | None = -1.0  # none set yet

    def set_timeout(self, seconds: float | None) -> None:
        """How long one send or receive may wait (None: for ever); unchanged, free."""
        if seconds != self._timeout:
            _set_timeout(self.sock, seconds)
            self._timeout = seconds

    @classmethod
    def connect(cls, host: str, port: int, connect_timeout: float | None) -> Wire:
        """A new connection (TCP_NODELAY, as urllib3 and http.client set it)."""
        sock = socket.create_connection((host, port), timeout=connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.sock.close()

    def exchange(self, message: bytes, method: str) -> Reply:
        """Send one whole request (head and body in one write) and read its reply."""
        try:
            self.sock.sendall(message)
        except BlockingIOError:  # the kernel's send timeout (see _set_timeout)
            raise TimeoutError("timed out while sending") from None
        return self.read_reply(method)

    # Reading.

    def _fill(self) -> bool:
        """Read more bytes; False at EOF."""
        try:
            chunk = self.sock.recv(_RECV)
        except BlockingIOError:  # the kernel's receive timeout (see _set_timeout)
            raise TimeoutError("timed out") from None
        if not chunk:
            return False
        if self._pos:
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0
        else:
            self._buf += chunk
        return True

    def _line(self, limit: int, what: str) -> bytes:
        """One CRLF-terminated line (without the CRLF)."""
        while True:
            end = self._buf.find(b"\r\n", self._pos)
            if end >= 0:
                line = self._buf[self._pos : end]
                self._pos = end + 2
                return line
            if len(self._buf) - self._pos > limit:
                raise MalformedReply(f"{what} longer than {limit} bytes")
            if not self._fill():
                raise MalformedReply(f"the server closed the connection in the {what}")

    def _exactly(self, size: int, what: str) -> bytes:
        while len(self._buf) - self._pos < size:
            if not self._fill():
                got = len(self._buf) - self._pos
                raise MalformedReply(f"{what} cut off: {got} of {size} bytes before the close")
        data = self._buf[self._pos : self._pos + size]
        self._pos += size
        return data

    def _head(self) -> bytes:
        """The status line and headers, up to and without the blank line."""
        while True:
            end = self._buf.find(b"\r\n\r\n", self._pos)
            if end >= 0:
                head = self._buf[self._pos : end]
                self._pos = end + 4
                return head
            if len(self._buf) - self._pos > MAX_HEAD:
                raise MalformedReply(f"reply head longer than {MAX_HEAD} bytes")
            if not self._fill():
                if len(self._buf) == self._pos:
                    raise MalformedReply("the server closed the connection without a reply")
                raise MalformedReply("the server closed the connection in the reply's head")

    def read_reply(self, method: str) -> Reply:
        """Read one reply to a ``method`` request, skipping interim 1xx replies."""
        while True:
            version, status, reason, headers = parse_head(self._head())
            if status == 101:
                raise MalformedReply("101 Switching Protocols to a request that asked for none")
            if status >= 200:
                break
        fields = _Fields(headers)
        keep_alive = _keeps_alive(version, fields.connection)
        if method == "HEAD" or status in _BODILESS:
            body = b""
        elif fields.transfer_encoding is not None:
            if fields.transfer_encoding.rsplit(",", 1)[-1].strip().lower() == "chunked":
                body = self._chunked()
            else:  # RFC 9112 6.3: any other coding runs until the close
                body, keep_alive = self._until_close(), False
        elif fields.content_length is not None:
            body = self._exactly(fields.content_length, "reply body")
        else:
            body, keep_alive = self._until_close(), False
        if self._pos != len(self._buf):
            keep_alive = False  # bytes nobody asked for: this connection is not reusable
        self._buf, self._pos = b"", 0
        return Reply(status, reason, headers, body, not keep_alive)

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self._line(MAX_CHUNK_LINE, "chunk size line")
            size_text = line.split(b";", 1)[0].strip(b" \t")
            if _HEX.fullmatch(size_text) is None:
                raise MalformedReply(f"malformed chunk size {line[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                break
            parts.append(self._exactly(size, "chunk"))
            if self._exactly(2, "chunk") != b"\r\n":
                raise MalformedReply("a chunk does not end in CRLF")
        while self._line(MAX_HEAD, "trailer"):  # trailers: read and dropped, as urllib3 does
            pass
        return b"".join(parts)

    def _until_close(self) -> bytes:
        while self._fill():
            pass
        body = self._buf[self._pos :]
        self._buf, self._pos = b"", 0
        return body


def _set_timeout(sock: socket.socket, seconds: float | None) -> None:
    """Time sends and receives out in the kernel, on a blocking socket, where it can.

    A Python socket timeout polls before every send and every receive: two system calls
    per request on top of the send and the receive. On Linux, SO_RCVTIMEO/SO_SNDTIMEO
    make the send or receive itself fail with EAGAIN once the time is up (the same
    per-call timeout http.client's socket has), which exchange() reports as TimeoutError.
    """
    if sys.platform != "linux":
        sock.settimeout(seconds)
        return
    sock.settimeout(None)  # blocking: the kernel does the timing
    if seconds is None:
        whole, micros = 0, 0  # a zero timeval: no timeout
    else:
        whole = int(seconds)
        micros = max(int((seconds - whole) * 1_000_000), 0 if whole else 1)
    timeval = struct.pack("@ll", whole, micros)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


class _Fields:
    """The headers that frame the body, read once from the header list."""

    __slots__ = ("connection", "content_length", "transfer_encoding")

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.connection = ""
        self.transfer_encoding: str | None = None
        self.content_length: int | None = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                self._length(value)
            elif lowered == "transfer-encoding":
                self.transfer_encoding = value
            elif lowered == "connection":
                self.connection += "," + value.lower()

    def _length(self, value: str) -> None:
        if value.isdigit() and value.isascii() and self.content_length is None:
            self.content_length = int(value)  # the usual case: one plain length
            return
        # "5, 5" (a proxy's repeat) is one length; "5, 6" is two and a smuggling risk.
        values = {item.strip() for item in value.split(",")}
        if len(values) != 1 or not (text := values.pop()).isdigit() or not text.isascii():
            raise MalformedReply(f"malformed Content-Length {value[:40]!r}")
        length = int(text)
        if self.content_length is not None and self.content_length != length:
            raise MalformedReply("two different Content-Length headers")
        self.content_length = length


def _keeps_alive(version: str, connection: str) -> bool:
    if not connection:
        return version == "HTTP/1.1"
    tokens = {token.strip() for token in connection.split(",")}
    if version == "HTTP/1.1":
        return "close" not in tokens
    return "keep-alive" in tokens and "close" not in tokens


def parse_head(head: bytes) -> tuple[str, int, str, list[tuple[str, str]]]:
    """Version, status, reason and headers from a reply's head (without the blank line)."""
    text = head.decode("latin-1") + "\r\n"
    # The usual head is checked whole in one C pass and split in another; anything else
    # (a folded line, a malformed one) takes the line-by-line path, which joins the one
    # and names the other.
    found = _HEAD.match(text)
    if found is not None:
        version, code, reason, fields = found.groups()
        return version, int(code), reason or "", _FIELD.findall(fields)
    status_line, _, fields = text.partition("\r\n")
    found = _STATUS.fullmatch(status_line)
    if found is None:
        raise MalformedReply(f"malformed status line {status_line[:80]!r}")
    version, code, reason = found.groups()
    return version, int(code), reason or "", _parse_lines(fields[:-2].split("\r\n"))


def _parse_lines(lines: list[str]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not headers:
                raise MalformedReply("a folded header line before any header")
            last, joined = headers[-1]
            headers[-1] = (last, (joined + " " + line.strip(_OWS)).strip(_OWS))
            continue
        name, colon, value = line.partition(":")
        if not colon or _TOKEN.fullmatch(name) is None:
            raise MalformedReply(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip(_OWS)))
    return headers


def request_bytes(
    method: str, target: str, host: str | None, headers: list[tuple[str, str]], body: bytes
) -> bytes:
    """The request's bytes: request line, Host (unless given), headers, blank line, body.

    Refuses (ValueError, before anything is sent) what http.client refuses too: a
    method or target with whitespace or control characters, a header that would end
    its line early (CR or LF in a name or value).
    """
    if _TOKEN.fullmatch(method) is None:
        raise ValueError(f"invalid HTTP method {method!r}")
    if _BAD_TARGET.search(target) is not None:
        raise ValueError(f"URL can't contain control characters or spaces: {target!r}")
    lines = [f"{name}: {value}" for name, value in headers]
    if host is not None:
        lines.insert(0, f"Host: {host}")
    lines.insert(0, f"{method} {target} HTTP/1.1")
    text = "\r\n".join(lines)
    if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
        raise ValueError("a header name or value contains CR or LF")
    return (text + "\r\n\r\n").encode("latin-1") + body
