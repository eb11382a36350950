"""Redirects never carry load where ``--target-url`` could not: both drivers ask here first.

A target on loopback may answer ``307 Location: http://10.1.2.3/...``; an HTTP client
follows that by default, and the load would leave the machine without anyone asking
for it. A redirect is followed only to the target's own host, to a loopback address,
or anywhere with ``--allow-remote`` (the rule of loadtests/target/safety.py); any
other is refused before a connection is made and the operation is recorded as
``info`` with the refusal (the target did answer, with a redirect, so whether the
operation took effect is unknown).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from loadtests.target.redact import redact_url
from loadtests.target.safety import is_loopback_host


class RedirectRefused(ConnectionError):
    """A redirect to a host load may not go to: nothing was sent there.

    A ConnectionError so that Locust's FastHttpSession records it as the request's
    failure, as it does a refused connection, instead of raising it into the user.
    """


def refusal(origin: str, target: str, allow_remote: bool) -> str | None:
    """Why a redirect from ``origin`` to ``target`` must not be followed, or None."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"refused to follow a redirect to {redact_url(target)!r}: not an http(s) URL"
    if allow_remote or parts.hostname == urlsplit(origin).hostname:
        return None  # the user opted in, or it is the target itself (already allowed)
    if is_loopback_host(parts.hostname):
        return None
    return (
        f"refused to follow a redirect to {redact_url(target)}: {parts.hostname} is not a"
        " loopback address and load goes only where --target-url may"
        " (pass --allow-remote to follow it)"
    )


class GuardedSession(requests.Session):
    """A requests Session that checks every redirect before it follows it."""

    def __init__(self, allow_remote: bool = False) -> None:
        super().__init__()
        self.allow_remote = allow_remote

    def resolve_redirects(self, resp: requests.Response, *args: Any, **kwargs: Any) -> Any:
        """requests' redirect walk, skipped for a reply that is no redirect at all.

        Session.send walks every reply through it; for a vote's 200 it would parse the
        request's URL and find no redirect target (get_redirect_target: None unless
        is_redirect), yielding nothing, which an empty iterator does for less.
        """
        if not resp.is_redirect:
            return iter(())
        return super().resolve_redirects(resp, *args, **kwargs)

    def get_redirect_target(self, resp: requests.Response) -> Any:
        """The next hop's location, once it is known to be allowed (else RedirectRefused)."""
        location = super().get_redirect_target(resp)
        if location is not None:
            reason = refusal(resp.url, urljoin(resp.url, location), self.allow_remote)
            if reason is not None:
                raise RedirectRefused(reason)
        return location
