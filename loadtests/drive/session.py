"""Sessions like a browser's: each load client's own cookie jar, or one jar for all.

``session = "per-client"`` (the default): every client has its own cookies and sends
the target file's ``[[login]]`` steps in its own session before its load, as many
users each logged in would. ``session = "shared"``: all clients use the harness's
cookie jar, in which ``[[login]]`` and ``[[setup]]`` already ran: one user with many
tabs open, where a cookie-backed cart is read and written by every request at once.
"""

from __future__ import annotations

from loadtests.drive.client import Client, SessionTransport
from loadtests.target.workload import Workload

SHARED = "shared"


def share_jar(transport: SessionTransport, workload: Workload) -> None:
    """With session = "shared", make this client's session use the one shared cookie jar."""
    if workload.session == SHARED and workload.cookie_jar is not None:
        transport.session.cookies = workload.cookie_jar


def log_in(client: Client) -> None:
    """Send the [[login]] steps in this client's own session (a shared one logged in once).

    A refused login is recorded like any op; the client still votes, and what its
    votes get (refusals, most likely) is what the history shows.
    """
    if client.workload.session == SHARED:
        return
    for step in client.workload.login:
        client.step(step)
