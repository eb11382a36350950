"""The machine a benchmark ran on, so its numbers can be read (and doubted) later."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any

from loadtests.bench import tools as bench_tools
from loadtests.defaults import SERVERS

# Servers by their package names: apache is served by mod_wsgi (optional).
PACKAGES = ("racecheck", "requests", "urllib3", "flask", *(s for s in SERVERS if s != "apache"))
PACKAGES_OPTIONAL = ("locust", "orjson", "numpy", "mod_wsgi")


def _cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown"


def _mem_total(meminfo: str) -> int | None:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024  # kB
    return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def describe() -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python, and the versions of every tool measured."""
    memory = _mem_total(_read("/proc/meminfo"))
    return {
        "cpu_model": _cpu_model(_read("/proc/cpuinfo")),
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "memory_gib": round(memory / 2**30, 1) if memory else None,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "versions": {
            **{name: _version(name) for name in (*PACKAGES, *PACKAGES_OPTIONAL)},
            "hey": bench_tools.version("hey"),
            "wrk": bench_tools.version("wrk"),
        },
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other jobs on the machine skew numbers)."""
    return [round(x, 2) for x in os.getloadavg()]
