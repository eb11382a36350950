"""What the target says it is: the build its ``/health`` reports, which names a Locust run.

The web UI's "Racecheck Build" field is free to edit, so it must not decide what a
run is called: a run named ``locked`` that FAILed against the unlocked server would
teach the wrong lesson. The server's own answer decides.
"""

from __future__ import annotations

import requests

from loadtests.defaults import BUILDS


def reported_build(url: str, timeout: float) -> str | None:
    """The reference build the target at ``url`` reports, or None (no answer, not ours)."""
    try:
        # No redirects: one to another host would be traffic --racecheck-allow-remote
        # never allowed, and the reference app's /health never redirects.
        reply = requests.get(url.rstrip("/") + "/health", timeout=timeout, allow_redirects=False)
        body = reply.json() if reply.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    build = body.get("build") if isinstance(body, dict) else None
    return build if isinstance(build, str) and build in BUILDS else None
