"""Whether the load could race at all: two votes in flight at the same moment.

A run whose votes never overlapped (one client, or one Locust user) cannot lose
an update to a race, so its PASS would say nothing about thread safety: that is
too little evidence, UNKNOWN, and the verdict says why.
"""

from __future__ import annotations

from loadtests.check.checks import plural
from loadtests.check.evidence import Evidence
from loadtests.check.verdict import CheckResult


def concurrency(ev: Evidence) -> CheckResult | None:
    """At least two votes were in flight at once (None: no vote was sent at all)."""
    votes = sum(sum(c) for c in ev.scan.counts.values()) + sum(ev.scan.open_votes.values())
    if votes == 0:
        return None  # the bounds check says there was nothing to lose
    peak = ev.scan.peak_votes_in_flight
    if peak >= 2:
        return CheckResult(
            "concurrency", "PASS", f"up to {peak} votes were in flight at the same moment"
        )
    return CheckResult(
        "concurrency",
        "UNKNOWN",
        f"no two of the {plural(votes, 'vote')} were ever in flight at the same moment (one "
        "client, or clients that never overlapped), so no race could happen and a clean "
        "tally proves nothing about thread safety: run more concurrent clients (--clients, "
        "or more Locust users)",
    )
