"""The client: the one place that performs an operation over HTTP and classifies it.

Every driver (the thread pool, Locust users, the harness's own setup and final
reads) goes through :class:`Client`, so every history means the same thing:

    ok    2xx that matches the acknowledgement and carries a well-formed body: it took effect
    fail  a definite refusal (4xx, a 2xx that matches the declared refusal, a refused
          connection): it did not take effect
    info  no usable answer (timeout, reset, 5xx, malformed body, a 2xx that is neither
          the acknowledgement nor a declared refusal): it may or may not have taken
          effect, so the checker never counts it as lost or failed

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
from requests.structures import CaseInsensitiveDict

from loadtests import defaults
from loadtests.defaults import OP_HEADER
from loadtests.drive.adapter import LeanHTTPAdapter
from loadtests.drive.redirects import GuardedSession, RedirectRefused
from loadtests.history import History, Op, OpType, Process
from loadtests.target.variables import fill as fill_variables
from loadtests.target.workload import (
    Call,
    Collection,
    Counter,
    Extractor,
    Matcher,
    RequestSpec,
    Step,
    Stock,
    Workload,
    fill,
)


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


def client_error(exc: BaseException) -> dict[str, Any]:
    """An op's value when the client itself raised: no status, the error named."""
    return {"status": None, "error": f"client error: {describe_error(exc)}"}


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
            session = self.session
            response = session.send(
                self._prepare(request, base_url + request.path),
                timeout=(self.timeout.connect, self.timeout.read),
                allow_redirects=True,
                # No proxies to resolve (trust_env is off): skip resolving them per request.
                **({} if session.proxies or session.trust_env else _NO_PROXIES),
            )
        except (requests.RequestException, RedirectRefused) as exc:
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
            headers = dict(request.headers or {})
            if request.op_id:
                headers[OP_HEADER] = request.op_id
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
        prepared = _from_template(template)
        prepared.prepare_body(request.form, None, request.json)
        if request.headers:
            prepared.headers.update(request.headers)
        if request.op_id:
            prepared.headers[OP_HEADER] = request.op_id
        return prepared

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()


_NO_PROXIES: dict[str, Any] = {"proxies": {}}


def _from_template(template: requests.PreparedRequest) -> requests.PreparedRequest:
    """PreparedRequest.copy() without copying the template's (empty) cookie jar.

    The jar is only read while sending; a redirect copies the request before it adds
    cookies to it (Session.resolve_redirects), so sharing it never changes the template.
    """
    prepared = requests.PreparedRequest()
    prepared.method, prepared.url = template.method, template.url
    # A copy of the header dict's own store (what CaseInsensitiveDict.copy() rebuilds
    # one __setitem__ at a time).
    prepared.headers = CaseInsensitiveDict()
    prepared.headers._store = template.headers._store.copy()  # type: ignore[attr-defined]
    prepared._cookies = template._cookies  # type: ignore[attr-defined]
    prepared.hooks = template.hooks  # copy() shares them too
    return prepared


def new_session(pool_size: int = 4, allow_remote: bool = False) -> requests.Session:
    """A Session that never retries (a silent retry could apply a vote twice) and
    follows redirects only where load may go (drive/redirects.py)."""
    session = GuardedSession(allow_remote)
    # The target is addressed directly: no proxy from the environment, no ~/.netrc
    # credentials. Looking those up is also a third of requests' per-request CPU
    # (it scans os.environ and stats two files on every call), measured by
    # `racecheck bench`: 760 -> 588 µs of client CPU per vote.
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=1, pool_maxsize=pool_size, max_retries=0
    )
    session.mount("https://", adapter)
    # Plain HTTP (every target racecheck starts) goes through a lean adapter: the same
    # Session, cookies and redirects, without urllib3's per-request work (drive/adapter.py).
    session.mount("http://", LeanHTTPAdapter(pool_size))
    return session


def _error_text(reply: Reply) -> str:
    """The target's own explanation of a refusal, or the start of its body."""
    body = _parse_json(reply.text)
    if body is None:
        return reply.text.strip()[:200] or f"HTTP {reply.status}"
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        return str(body["error"])[:300]
    return reply.text.strip()[:200]


def _excerpt(text: str) -> str:
    """The start of a reply's body, on one line, for people reading why an op went wrong."""
    return " ".join(text.split())[:200]


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
    # Nesting deeper than the limit needs more opening brackets than that: most replies
    # are cleared by two C-level counts, without walking the parsed value.
    if (
        isinstance(parsed, (dict, list))
        and text.count("{") + text.count("[") > MAX_REPLY_DEPTH
        and _depth_exceeds(parsed, MAX_REPLY_DEPTH)
    ):
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
        # Values extracted from earlier replies (a CSRF token), filled into requests.
        self.variables: dict[str, str] = dict(workload.variables)

    def _render(self, request: RequestSpec, op_id: str = "") -> RequestSpec:
        rendered = request.render(op_id)
        return fill_variables(rendered, self.variables) if self.variables else rendered

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
        try:
            reply = self.transport.send(self._render(counter.increment, vote_id), self.base_url)
            op_type, value = self.classify_vote(counter, reply, vote_id)
        except Exception as exc:
            # A reply nobody foresaw (or a bug here) must neither kill the client's
            # thread nor leave the op open: the vote was sent, its outcome is unknown.
            op_type, value = "info", client_error(exc)
        value["choice"] = choice
        return self.history.complete(invocation, op_type, value)

    def classify_vote(
        self, counter: Counter, reply: Reply, op_id: str = ""
    ) -> tuple[OpType, dict[str, Any]]:
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
        if not counter.ok.for_op(op_id).matches(reply.status, reply.text):
            # A 2xx that is not the acknowledgement: only a declared refusal is a
            # definite "did not happen"; anything else may well have taken effect.
            refused = counter.refused is not None and counter.refused.matches(
                reply.status, reply.text
            )
            what = "reply matches refused" if refused else "2xx reply does not match ok"
            return ("fail" if refused else "info"), {
                "status": reply.status,
                "error": what,
                "body": _excerpt(reply.text),
            }
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
        reply = self.transport.send(self._render(step.request), self.base_url)
        refusal = self._refusal(reply)
        if refusal is not None:
            return self.history.complete(invocation, *refusal)
        if not step.ok.matches(reply.status, reply.text):
            value = {"status": reply.status, "error": "reply is not an acknowledgement"}
            return self.history.complete(invocation, "fail", value)
        parsed = _parse_json(reply.text)
        for name, extractor in (step.extract or {}).items():
            try:
                self.variables[name] = str(extractor.extract(reply.text, parsed))
            except (ValueError, TypeError, IndexError) as exc:
                error = f"cannot extract {name!r}: {exc}"
                value = {"status": reply.status, "error": error, "body": _excerpt(reply.text)}
                return self.history.complete(invocation, "info", value)
        value = dict(parsed) if isinstance(parsed, Mapping) else {"status": reply.status}
        value["resolution_id"] = _optional_int(step.resolution, reply.text, parsed)
        return self.history.complete(invocation, "ok", value)

    def read(self, f: str = "read") -> Op:
        """Read every counter's current value (one request per distinct read URL)."""
        invocation = self.history.invoke(self.process, f, None)
        try:
            return self._read(invocation)
        except Exception as exc:  # as for a vote: recorded as unknown, the thread goes on
            return self.history.complete(invocation, "info", client_error(exc))

    def _read(self, invocation: Op) -> Op:
        counts: dict[str, int] = {}
        pid: int | None = None
        resolution: int | None = None
        replies: dict[tuple[str, str], Reply] = {}
        for counter in self.workload.counters:
            key = (counter.read.method, counter.read.path)
            if key not in replies:
                replies[key] = self.transport.send(self._render(counter.read), self.base_url)
            reply = replies[key]
            refusal = self._refusal(reply)
            if refusal is not None:
                return self.history.complete(invocation, *refusal)
            parsed = _parse_json(reply.text)
            try:
                counts[counter.name] = counter.read_value.extract_int(reply.text, parsed)
            except (ValueError, TypeError, IndexError) as exc:
                error = f"cannot read counter {counter.name!r}: {exc}"
                value = {"status": reply.status, "error": error, "body": _excerpt(reply.text)}
                return self.history.complete(invocation, "info", value)
            pid = _optional_int(counter.read_pid, reply.text, parsed) or pid
            resolution = _optional_int(counter.read_resolution, reply.text, parsed) or resolution
        value = {"counts": counts, "pid": pid, "resolution_id": resolution}
        if self.workload.extras:
            problem = self._read_extras(value, replies)
            if problem is not None:
                return self.history.complete(invocation, *problem)
        return self.history.complete(invocation, "ok", value)

    # The op kinds beyond counters (see Extras): collections, stocks and plain calls.

    def perform(self, name: str, op_id: str) -> Op:
        """Perform the op called ``name`` (a counter's vote, an add, a decrement, a call)."""
        extras = self.workload.extras
        for collection in extras.collections:
            if collection.name == name:
                return self.add(collection, op_id)
        for stock in extras.stocks:
            if stock.name == name:
                return self.decrement(stock, op_id)
        for call in extras.calls:
            if call.name == name:
                return self.call(call, op_id)
        return self.vote(name, op_id)

    def add(self, collection: Collection, op_id: str) -> Op:
        """Add this op's own element to a collection; the reply may carry an id."""
        element = fill(collection.element, op_id)
        base = {"collection": collection.name, "element": element}
        invocation = self.history.invoke(self.process, "add", dict(base), op_id)
        try:
            reply = self.transport.send(self._render(collection.add, op_id), self.base_url)
            op_type, value = self._classify(
                reply, collection.ok.for_op(op_id), None, collection.echo
            )
        except Exception as exc:  # as for a vote: unknown outcome, the thread goes on
            return self.history.complete(invocation, "info", {**base, **client_error(exc)})
        if op_type == "ok" and collection.id is not None:
            try:
                found = collection.id.extract(reply.text, _parse_json(reply.text))
            except (ValueError, TypeError, IndexError) as exc:
                op_type, value["error"] = "info", f"malformed reply: {exc}"
            else:
                value["id"] = found if isinstance(found, int | str) else repr(found)
        return self.history.complete(invocation, op_type, {**base, **value})

    def decrement(self, stock: Stock, op_id: str) -> Op:
        """Take one from a stock; a "sold out" reply is a definite refusal."""
        base = {"stock": stock.name, "floor": stock.floor}
        invocation = self.history.invoke(self.process, "decrement", dict(base), op_id)
        try:
            reply = self.transport.send(self._render(stock.decrement, op_id), self.base_url)
            op_type, value = self._classify(
                reply, stock.ok.for_op(op_id), stock.refused, stock.echo
            )
        except Exception as exc:  # as for a vote: unknown outcome, the thread goes on
            return self.history.complete(invocation, "info", {**base, **client_error(exc)})
        return self.history.complete(invocation, op_type, {**base, **value})

    def call(self, call: Call, op_id: str) -> Op:
        """Send a plain request; its reply is judged by ok, echo and the errors check."""
        expected = fill(call.echo_value, op_id) if call.echo is not None else None
        start = base = {"call": call.name, "expect": expected}
        invocation = self.history.invoke(self.process, "call", start, op_id)
        try:
            reply = self.transport.send(self._render(call.request, op_id), self.base_url)
            op_type, value = self._classify(reply, call.ok.for_op(op_id), None, call.echo)
        except Exception as exc:  # as for a vote: unknown outcome, the thread goes on
            return self.history.complete(invocation, "info", {**base, **client_error(exc)})
        return self.history.complete(invocation, op_type, {**start, **value})

    def _classify(
        self, reply: Reply, ok: Matcher, refused: str | None, echo: Extractor | None
    ) -> tuple[OpType, dict[str, Any]]:
        """ok / fail / info as for a vote, plus the status, a refusal by content, the echo."""
        value: dict[str, Any]
        if refused is not None and reply.error is None and refused in reply.text:
            op_type: OpType = "fail"
            value = {"status": reply.status, "error": f"refused: {refused}"}
        elif (refusal := self._refusal(reply)) is not None:
            op_type, value = refusal
        elif not ok.matches(reply.status, reply.text):
            op_type = "fail"
            value = {"status": reply.status, "error": "reply is not an acknowledgement"}
        else:
            op_type, value = "ok", {"status": reply.status}
        if echo is not None and reply.error is None and 200 <= reply.status < 300:
            try:
                value["echo"] = str(echo.extract(reply.text, _parse_json(reply.text)))
            except (ValueError, TypeError, IndexError):
                value["echo"] = None
        return op_type, value

    def _read_extras(
        self, value: dict[str, Any], replies: dict[tuple[str, str], Reply]
    ) -> tuple[OpType, dict[str, Any]] | None:
        """Fill in every collection's members and every stock's level; the problem, if any."""
        extras = self.workload.extras
        wanted: list[tuple[str, str, Any]] = [
            ("collections", c.name, c) for c in extras.collections if c.read is not None
        ]
        wanted += [("stocks", s.name, s) for s in extras.stocks]
        for section, name, spec in wanted:
            request = spec.read
            key = (request.method, request.path)
            if key not in replies:
                replies[key] = self.transport.send(self._render(request), self.base_url)
            reply = replies[key]
            refusal = self._refusal(reply)
            if refusal is not None:
                return refusal
            parsed = _parse_json(reply.text)
            try:
                found: Any = (
                    spec.members.extract(reply.text, parsed)
                    if section == "collections"
                    else spec.read_value.extract_int(reply.text, parsed)
                )
            except (ValueError, TypeError, IndexError) as exc:
                error = f"cannot read {name!r}: {exc}"
                return "info", {"status": reply.status, "error": error}
            value.setdefault(section, {})[name] = found
        return None
