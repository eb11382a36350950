"""The client: the one place that performs an operation over HTTP and classifies it.

Every driver (the thread pool, Locust users, the harness's own setup and final
reads) goes through :class:`Client`, so every history means the same thing:

    ok    2xx that matches the acknowledgement and carries a well-formed body: it took effect
    fail  a definite refusal (4xx, a 2xx that is not an acknowledgement, a refused
          connection): it did not take effect
    info  no usable answer (timeout, reset, 5xx, malformed body): it may or may not
          have taken effect, so the checker never counts it as lost or failed

HTTP goes through a :class:`Transport` (one seam, as in httpx), so the Locust
users can plug in their own session and tests can run offline.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from loadtests import defaults
from loadtests.defaults import OP_HEADER
from loadtests.history import History, Op, OpType, Process
from loadtests.target.workload import Counter, Extractor, RequestSpec, Step, Workload


@dataclass(frozen=True)
class Timeout:
    """How long to wait to connect and then for the reply, in seconds."""

    connect: float = defaults.CONNECT_TIMEOUT
    read: float = defaults.TIMEOUT


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back: a status and body, or the transport error instead."""

    status: int
    text: str = ""
    error: str | None = None
    # The connection was never made, so the request certainly did not reach
    # the server: a definite failure rather than an unknown outcome.
    refused: bool = False


class Transport(Protocol):
    """Sends one request and never raises for network trouble: it returns a Reply."""

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        """Send ``request`` to ``base_url`` and report what happened."""
        ...


_NOT_SENT = frozenset({errno.ECONNREFUSED, errno.EMFILE, errno.ENFILE})


def is_refused(exc: BaseException) -> bool:
    """Whether ECONNREFUSED is anywhere in the error's chain (then nothing was sent).

    requests wraps urllib3's MaxRetryError, which keeps the real cause in
    ``.reason``, which was raised from the socket's ConnectionRefusedError; Locust's
    RetriesExceeded keeps geventhttpclient's error in ``.original``.
    """
    queue: list[BaseException] = [exc]
    seen: set[int] = set()
    while queue:
        current = queue.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or (
            # Out of file descriptors: the socket was never made, so nothing was sent.
            isinstance(current, OSError) and current.errno in _NOT_SENT
        ):
            return True
        linked = [
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
            getattr(current, "original", None),
        ]
        linked.extend(current.args)
        queue.extend(item for item in linked if isinstance(item, BaseException))
    return False


def describe_error(exc: BaseException) -> str:
    """A short, stable description of a transport error for the history."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


class SessionTransport:
    """A transport over any ``requests.Session``-like object (one per client thread)."""

    # Prepared templates kept per transport; a workload that puts {op_id} in its path has a
    # new URL per request, and those are simply prepared in full.
    MAX_TEMPLATES = 32

    def __init__(self, session: requests.Session | None = None, timeout: Timeout = Timeout()):
        self.session = session if session is not None else new_session()
        self.timeout = timeout
        self._templates: dict[tuple[str, str], requests.PreparedRequest] = {}

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        """Send one request; network trouble becomes a Reply with ``error`` set."""
        try:
            response = self.session.send(
                self._prepare(request, base_url + request.path),
                timeout=(self.timeout.connect, self.timeout.read),
                allow_redirects=True,
            )
        except requests.RequestException as exc:
            return Reply(0, error=describe_error(exc), refused=is_refused(exc))
        return Reply(response.status_code, response.text)

    def _prepare(self, request: RequestSpec, url: str) -> requests.PreparedRequest:
        """The request as ``Session.request`` would prepare it, without redoing the merge.

        ``Session.request`` merges the session's headers, hooks, auth and cookies into every
        request anew: a quarter of the driver's CPU per vote (`racecheck bench`: 450 -> 330 µs).
        While the session has no cookies and no auth that merge gives the same result every
        time, so it is done once per method and URL, and only the body is added per request.
        A session with cookies (a form login, say) takes the full path on every request.
        """
        session = self.session
        if session.cookies or session.auth is not None:
            headers = {OP_HEADER: request.op_id} if request.op_id else None
            return session.prepare_request(
                requests.Request(
                    request.method, url, headers=headers, json=request.json, data=request.form
                )
            )
        key = (request.method, url)
        template = self._templates.get(key)
        if template is None:
            template = session.prepare_request(requests.Request(request.method, url))
            if len(self._templates) < self.MAX_TEMPLATES:
                self._templates[key] = template
        prepared = template.copy()
        prepared.prepare_body(request.form, None, request.json)
        if request.op_id:
            prepared.headers[OP_HEADER] = request.op_id
        return prepared

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()


def new_session(pool_size: int = 4) -> requests.Session:
    """A Session that never retries: a silent retry could apply a vote twice."""
    session = requests.Session()
    # The target is addressed directly: no proxy from the environment, no ~/.netrc
    # credentials. Looking those up is also a third of requests' per-request CPU
    # (it scans os.environ and stats two files on every call), measured by
    # `racecheck bench`: 760 -> 588 µs of client CPU per vote.
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=1, pool_maxsize=pool_size, max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _error_text(reply: Reply) -> str:
    """The target's own explanation of a refusal, or the start of its body."""
    body = _parse_json(reply.text)
    if body is None:
        return reply.text.strip()[:200] or f"HTTP {reply.status}"
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        return str(body["error"])[:300]
    return reply.text.strip()[:200]


def _optional_int(extractor: Extractor | None, text: str, parsed: Any) -> int | None:
    if extractor is None:
        return None
    try:
        return extractor.extract_int(text, parsed)
    except (ValueError, TypeError, IndexError):
        return None


# How deep a reply's JSON may nest before it is treated as malformed: the reference
# app's replies nest two levels; a hostile target's 100,000 would crash the parser
# (RecursionError) or, stored in the history, every later reader of it.
MAX_REPLY_DEPTH = 32


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iteratively: no recursion to blow)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _parse_json(text: str) -> Any:
    """The reply's JSON, or None when it is not JSON or nests deeper than we ever read."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(parsed, (dict, list)) and _depth_exceeds(parsed, MAX_REPLY_DEPTH):
        return None
    return parsed


class Client:
    """Performs workload operations for one logical process and records each in a history."""

    def __init__(
        self,
        transport: Transport,
        base_url: str,
        workload: Workload,
        history: History,
        process: Process,
    ) -> None:
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.workload = workload
        self.history = history
        self.process = process

    def _refusal(self, reply: Reply) -> tuple[OpType, dict[str, Any]] | None:
        """Classify everything that is not a 2xx; None means "look at the 2xx body"."""
        if reply.error is not None:
            kind: OpType = "fail" if reply.refused else "info"
            return kind, {"status": None, "error": reply.error}
        if 200 <= reply.status < 300:
            return None
        if 400 <= reply.status < 500:
            return "fail", {"status": reply.status, "error": _error_text(reply)}
        # 5xx (and anything odd): the handler may have run before it broke.
        return "info", {"status": reply.status, "error": _error_text(reply)}

    def vote(self, choice: str, vote_id: str) -> Op:
        """Increment counter ``choice`` once; returns the completion op."""
        counter = self.workload.counter(choice)
        invocation = self.history.invoke(self.process, "vote", {"choice": choice}, vote_id)
        reply = self.transport.send(counter.increment.render(vote_id), self.base_url)
        op_type, value = self.classify_vote(counter, reply)
        value["choice"] = choice
        return self.history.complete(invocation, op_type, value)

    def classify_vote(self, counter: Counter, reply: Reply) -> tuple[OpType, dict[str, Any]]:
        """ok / fail / info for one increment reply, with the returned count if any."""
        refusal = self._refusal(reply)
        if refusal is not None:
            op_type, value = refusal
            # Which process refused matters: a gunicorn worker that never saw the
            # round refuses every vote, and only its pid reveals the split state.
            pid = _optional_int(counter.pid, reply.text, _parse_json(reply.text))
            if pid is not None:
                value["pid"] = pid
            return op_type, value
        if not counter.ok.matches(reply.status, reply.text):
            return "fail", {"status": reply.status, "error": "reply is not an acknowledgement"}
        parsed = _parse_json(reply.text)
        count: int | None = None
        if counter.returns is not None:
            try:
                count = counter.returns.extract_int(reply.text, parsed)
            except (ValueError, TypeError, IndexError) as exc:
                # Acknowledged but unreadable: it may well have taken effect.
                return "info", {"status": reply.status, "error": f"malformed reply: {exc}"}
        return "ok", {
            "count": count,
            "pid": _optional_int(counter.pid, reply.text, parsed),
            "resolution_id": _optional_int(counter.resolution, reply.text, parsed),
        }

    def step(self, step: Step) -> Op:
        """Perform a setup or teardown step (start, stop, ...)."""
        invocation = self.history.invoke(self.process, step.f, None)
        reply = self.transport.send(step.request.render(), self.base_url)
        refusal = self._refusal(reply)
        if refusal is not None:
            return self.history.complete(invocation, *refusal)
        if not step.ok.matches(reply.status, reply.text):
            value = {"status": reply.status, "error": "reply is not an acknowledgement"}
            return self.history.complete(invocation, "fail", value)
        parsed = _parse_json(reply.text)
        value = dict(parsed) if isinstance(parsed, Mapping) else {"status": reply.status}
        value["resolution_id"] = _optional_int(step.resolution, reply.text, parsed)
        return self.history.complete(invocation, "ok", value)

    def read(self) -> Op:
        """Read every counter's current value (one request per distinct read URL)."""
        invocation = self.history.invoke(self.process, "read", None)
        counts: dict[str, int] = {}
        pid: int | None = None
        resolution: int | None = None
        replies: dict[tuple[str, str], Reply] = {}
        for counter in self.workload.counters:
            key = (counter.read.method, counter.read.path)
            if key not in replies:
                replies[key] = self.transport.send(counter.read.render(), self.base_url)
            reply = replies[key]
            refusal = self._refusal(reply)
            if refusal is not None:
                return self.history.complete(invocation, *refusal)
            parsed = _parse_json(reply.text)
            try:
                counts[counter.name] = counter.read_value.extract_int(reply.text, parsed)
            except (ValueError, TypeError, IndexError) as exc:
                error = f"cannot read counter {counter.name!r}: {exc}"
                return self.history.complete(
                    invocation, "info", {"status": reply.status, "error": error}
                )
            pid = _optional_int(counter.read_pid, reply.text, parsed) or pid
            resolution = _optional_int(counter.read_resolution, reply.text, parsed) or resolution
        value = {"counts": counts, "pid": pid, "resolution_id": resolution}
        return self.history.complete(invocation, "ok", value)
