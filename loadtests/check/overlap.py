"""Whether the load could race at all: two load requests in flight at the same moment.

A run whose requests (votes, adds, decrements, calls) never overlapped (one client,
or one Locust user) cannot lose an update to a race, so its PASS would say nothing
about thread safety: that is too little evidence, UNKNOWN, and the verdict says why.
"""

from __future__ import annotations

from loadtests.check.checks import plural
from loadtests.check.evidence import Evidence
from loadtests.check.verdict import CheckResult


def concurrency(ev: Evidence) -> CheckResult | None:
    """At least two load requests were in flight at once (None: none was sent at all)."""
    scan = ev.scan
    votes = sum(sum(c) for c in scan.counts.values()) + sum(scan.open_votes.values())
    sent = votes + scan.extra_invoked
    if sent == 0:
        return None  # the other checks say there was nothing to lose
    # Votes alone are named as votes; with adds, decrements or calls, as requests.
    noun = "vote" if scan.extra_invoked == 0 else "load request"
    peak = scan.peak_in_flight
    if peak >= 2:
        return CheckResult(
            "concurrency", "PASS", f"up to {peak} {noun}s were in flight at the same moment"
        )
    return CheckResult(
        "concurrency",
        "UNKNOWN",
        f"no two of the {plural(sent, noun)} were ever in flight at the same moment (one "
        "client, or clients that never overlapped), so no race could happen and a clean "
        "result proves nothing about thread safety: run more concurrent clients "
        "(--clients, or more Locust users)",
    )
