"""The driver's CPU per request against hey's, on each server, side by side.

On two cores the client and the server share the CPU, so every microsecond the
driver spends per request is taken from the server it pushes: what is compared
here is client CPU per acknowledged request, not rate. Per server, the driver and
hey alternate on one running target (order rotating per round) and the ratio is
taken within each round, so a neighbour's load hits both alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loadtests.bench.load import DRIVER, LoadBench, compare_clients
from loadtests.defaults import ServerName
from loadtests.errors import UsageError


def cpu_per_server(
    bench: LoadBench,
    scratch: Path,
    servers: Sequence[ServerName],
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Per server: the driver's and hey's CPU per request and their per-round ratio."""
    out: dict[str, Any] = {}
    for server in servers:
        on = dataclasses.replace(bench, server=server, tools=(DRIVER, "hey"))
        try:
            summary = compare_clients(on, scratch, progress)
        except UsageError as exc:
            if server != "apache":
                raise
            # Apache is optional (apt packages and mod_wsgi): say why it is missing.
            out[server] = {"skipped": str(exc).splitlines()[0]}
            continue
        tools = summary["tools"]
        out[server] = {
            "driver_cpu_vs_hey": summary["cpu_ratios"][f"{DRIVER}_cpu_vs_hey"],
            "driver_cpu_us": tools[DRIVER]["cpu_us_per_request_median"],
            "hey_cpu_us": tools["hey"]["cpu_us_per_request_median"],
            "driver_vs_hey": summary["ratios"][f"{DRIVER}_vs_hey"],
            "rounds": summary["rounds"],
        }
        progress(
            f"cpu {server}: driver {out[server]['driver_cpu_us']} µs/request, hey "
            f"{out[server]['hey_cpu_us']} µs/request, ratio {out[server]['driver_cpu_vs_hey']}"
        )
    return out
