"""The reference load tools, `hey` and `wrk`: their command lines, their output, their CPU.

Both run as child processes in their own process group (through the launcher),
their report goes to a file we parse, and their CPU time is the growth of this
process's RUSAGE_CHILDREN across the wait: the tool is the only child reaped in
that window, so the growth is its own user + system time, all threads included.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loadtests.errors import HarnessError
from loadtests.target.launcher import start_process

BODY = '{"choice":"yes","vote_id":"bench"}'
PATH = "/api/votes"
INSTALL_HINT = "install the Debian packages: apt-get install hey wrk"


@dataclass(frozen=True)
class ToolResult:
    """What one run of a load tool achieved: acknowledged requests, time and client CPU."""

    tool: str
    ok: int
    errors: int
    seconds: float
    cpu_s: float

    @property
    def rate(self) -> float:
        """Acknowledged (2xx) requests per second of load."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        """Client CPU (user + system) per acknowledged request, in microseconds."""
        return self.cpu_s / self.ok * 1e6 if self.ok else float("nan")

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready form used in the bench results."""
        return {
            "tool": self.tool,
            "ok": self.ok,
            "errors": self.errors,
            "seconds": round(self.seconds, 4),
            "rate": round(self.rate, 1),
            "cpu_s": round(self.cpu_s, 4),
            "cpu_us_per_request": round(self.cpu_us_per_request, 1),
        }


def available(tool: str) -> str | None:
    """The tool's path, or None when it is not installed."""
    return shutil.which(tool)


def version(tool: str) -> str | None:
    """A one-line version of `hey` or `wrk` (hey has no --version: its Debian package's)."""
    if available(tool) is None:
        return None
    if tool == "wrk":
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).splitlines()
        return first[0].strip() if first else "wrk"
    query = ["dpkg-query", "-W", "-f=${Version}", tool]
    try:
        out = subprocess.run(query, capture_output=True, text=True, check=False)
    except OSError:
        return tool
    return f"{tool} {out.stdout.strip()}" if out.returncode == 0 else tool


def hey_argv(
    url: str, requests: int, concurrency: int, body: str = BODY, headers: Sequence[str] = ()
) -> list[str]:
    """hey POSTing the vote body; hey sends requests // concurrency per worker."""
    return [
        "hey",
        *("-n", str(requests), "-c", str(concurrency)),
        *("-m", "POST", "-T", "application/json", "-d", body),
        *(word for header in headers for word in ("-H", header)),
        url.rstrip("/") + PATH,
    ]


def wrk_script(body: str = BODY) -> str:
    """The Lua that makes wrk POST the vote body (wrk has no flag for a body)."""
    quoted = body.replace("\\", "\\\\").replace("'", "\\'")
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = '{quoted}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )


def wrk_argv(
    url: str, seconds: float, concurrency: int, script: Path, threads: int = 2
) -> list[str]:
    """wrk for ``seconds`` with ``concurrency`` connections (wrk needs threads <= connections)."""
    threads = max(1, min(threads, concurrency))
    return [
        "wrk",
        *("-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s"),
        *("-s", str(script)),
        url.rstrip("/") + PATH,
    ]


_HEY_TOTAL = re.compile(r"^\s*Total:\s+([\d.]+) secs", re.MULTILINE)
_HEY_STATUS = re.compile(r"^\s*\[(\d{3})\]\s+(\d+) responses", re.MULTILINE)
_HEY_ERRORS = re.compile(r"^\s*\[(\d+)\]\s+\S", re.MULTILINE)


def parse_hey(text: str, cpu_s: float = 0.0) -> ToolResult:
    """hey's summary: the Total time and the status code distribution (errors apart)."""
    total = _HEY_TOTAL.search(text)
    if total is None:
        raise HarnessError(f"hey printed no summary; its output was:\n{text[-2000:]}")
    status_part, _, error_part = text.partition("Error distribution:")
    ok = errors = 0
    for code, count in _HEY_STATUS.findall(status_part):
        if 200 <= int(code) < 300:
            ok += int(count)
        else:
            errors += int(count)
    errors += sum(int(n) for n in _HEY_ERRORS.findall(error_part))
    return ToolResult("hey", ok, errors, float(total.group(1)), cpu_s)


_WRK_DONE = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", re.MULTILINE)
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def parse_wrk(text: str, cpu_s: float = 0.0) -> ToolResult:
    """wrk's summary: requests in time, minus non-2xx/3xx replies and socket errors."""
    done = _WRK_DONE.search(text)
    if done is None:
        raise HarnessError(f"wrk printed no summary; its output was:\n{text[-2000:]}")
    requests = int(done.group(1))
    seconds = float(done.group(2)) * _UNIT[done.group(3)]
    bad = _WRK_NON2XX.search(text)
    non2xx = int(bad.group(1)) if bad else 0
    socket = _WRK_SOCKET.search(text)
    socket_errors = sum(int(n) for n in socket.groups()) if socket else 0
    return ToolResult("wrk", requests - non2xx, non2xx + socket_errors, seconds, cpu_s)


def children_cpu() -> float:
    """User + system CPU seconds of every child this process has reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tool(argv: Sequence[str], log_path: Path, timeout: float) -> tuple[str, float]:
    """Run a load tool to completion; return its output and its CPU seconds."""
    if available(argv[0]) is None:
        raise HarnessError(f"{argv[0]} is not installed; {INSTALL_HINT}")
    log_path.unlink(missing_ok=True)
    before = children_cpu()
    process = start_process(argv, log_path=log_path)
    try:
        status = process.wait(timeout)
    finally:
        # Bounded: a tool that overruns is stopped by its process group.
        if process.poll() is None:
            process.stop()
    cpu = children_cpu() - before
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if status is None:
        raise HarnessError(f"{argv[0]} did not finish within {timeout:g} s")
    if status != 0:
        raise HarnessError(f"{argv[0]} exited with status {status}:\n{text[-2000:]}")
    return text, cpu
