"""A client Transport over a Locust user's FastHttpSession.

Locust users perform their votes through :class:`loadtests.drive.client.Client`,
exactly like the thread-pool driver; only the HTTP seam differs. This one sends
through Locust's own session, so every request also lands in Locust's
statistics, under one name per endpoint and marked as a failure unless the
client classified it ``ok``. It never retries (a retried POST could count a
vote twice), and it tells a refused connection (the request never left: a
definite ``fail``) from every other error (``info``: it may have taken effect).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, FastHttpSession, LocustBadStatusCode

from loadtests.defaults import OP_HEADER
from loadtests.drive.client import Reply, describe_error, is_refused
from loadtests.history import Op
from loadtests.target.workload import OP_ID, RequestSpec, Workload


def endpoint_names(workload: Workload) -> list[tuple[re.Pattern[str], str, str]]:
    """Stats names per endpoint: ``{op_id}`` in a path must not make one name per vote."""
    specs = [c.increment for c in workload.counters] + [c.read for c in workload.counters]
    specs += [s.request for s in (*workload.setup, *workload.teardown)]
    names = []
    for spec in specs:
        pattern = re.escape(spec.path).replace(re.escape(OP_ID), "[^/?#]+")
        names.append((re.compile(f"{pattern}$"), spec.method, spec.path))
    return names


class FastHttpTransport:
    """Sends one request through a FastHttpSession; report it to Locust with :meth:`settle`."""

    def __init__(
        self, session: FastHttpSession, names: Sequence[tuple[re.Pattern[str], str, str]] = ()
    ) -> None:
        self.session = session
        self.names = list(names)
        self._pending: Any = None  # the ResponseContextManager of the last request

    def _name(self, request: RequestSpec) -> str:
        # Locust shows the method in its own column: the name is the path template.
        for pattern, method, name in self.names:
            if request.method == method and pattern.match(request.path):
                return name
        return request.path

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        """Send ``request``; network trouble comes back as a Reply with ``error`` set."""
        self.settle(None)
        response = self.session.request(
            request.method,
            base_url + request.path,
            name=self._name(request),
            json=request.json,
            data=dict(request.form) if request.form is not None else None,
            headers={OP_HEADER: request.op_id} if request.op_id else None,
            catch_response=True,
        )
        self._pending = response
        meta: Mapping[str, Any] = response.request_meta
        failure = meta.get("exception") or getattr(response, "error", None)
        if response.status_code == 0 or (
            failure is not None and not isinstance(failure, LocustBadStatusCode)
        ):
            # No usable answer: the connection failed, or the reply broke off. With no
            # retries, geventhttpclient's RetriesExceeded only wraps the real error.
            error = getattr(failure, "original", None) or failure or RuntimeError("no response")
            return Reply(0, error=describe_error(error), refused=is_refused(error))
        try:
            text = response.text or ""
        except FAILURE_EXCEPTIONS as exc:
            return Reply(0, error=describe_error(exc), refused=False)
        return Reply(response.status_code, text)

    def settle(self, op: Op | None) -> None:
        """Report the last request to Locust: a success only if the client called it ok."""
        response, self._pending = self._pending, None
        if response is None:
            return
        with response:
            if op is None:
                response.failure("not classified (the user moved on)")
            elif op.type == "ok":
                response.success()
            else:
                detail = op.value.get("error") if isinstance(op.value, Mapping) else None
                status = op.value.get("status") if isinstance(op.value, Mapping) else None
                response.failure(f"{op.type}: {detail or 'refused'} (HTTP {status or '-'})")
