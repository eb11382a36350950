"""Locust's side of drive/redirects.py: a FastHttpSession that checks each redirect first.

geventhttpclient follows a redirect by rewriting its request in place
(``CompatRequest.redirect``); this request type asks :func:`refusal` before it does,
and raises :class:`RedirectRefused` (a ConnectionError, which Locust records as the
request's failure) instead of connecting anywhere load may not go.
"""

from __future__ import annotations

from locust.contrib.fasthttp import FastHttpSession, FastRequest

from loadtests.drive.redirects import RedirectRefused, refusal


class _GuardedRequest(FastRequest):
    allow_remote = False

    def redirect(self, code: int, location: str) -> None:
        origin = str(self.url_split)
        target = str(self.url_split.redirect(location))
        reason = refusal(origin, target, self.allow_remote)
        if reason is not None:
            raise RedirectRefused(reason)
        super().redirect(code, location)


class _RemoteAllowedRequest(_GuardedRequest):
    allow_remote = True


def guard_redirects(session: FastHttpSession, allow_remote: bool) -> None:
    """Make ``session`` follow redirects only where load may go."""
    # urlopen builds each request from the user agent's request_type; this user's agent
    # gets its own, not the class's (shared by every user).
    guarded = _RemoteAllowedRequest if allow_remote else _GuardedRequest
    session.client.request_type = guarded  # type: ignore[misc]
