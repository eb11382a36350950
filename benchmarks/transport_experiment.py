"""Experiment: how fast could the thread driver be with a leaner HTTP stack than requests?

Runs the real RequestsDriver (History, Client, classification and all) three ways
against one locked waitress target, alternating within each round, next to hey:

* ``requests``    the driver as shipped (requests.Session per thread, sending through
  drive/adapter.py's lean adapter: a raw keep-alive socket and drive/wire.py's parser)
* ``http.client`` the same driver with a minimal keep-alive http.client transport
  swapped in through the Transport seam (this file only; NOT production code: it
  follows no redirects, keeps no cookies and decodes every body as UTF-8)

    .venv/bin/python benchmarks/transport_experiment.py --rounds 5 --votes 3000

It answers "is the remaining gap to hey in racecheck or in requests?" with numbers.
(Written before the lean adapter; with it, what the comparison measures is mostly
what requests' Session itself still costs per vote over a bare transport.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from loadtests.bench.load import measure_driver, measure_hey, reference_target, rotated
from loadtests.drive import driver as driver_module
from loadtests.drive.client import Reply, SessionTransport, Timeout, describe_error
from loadtests.target.workload import RequestSpec


class HttpClientTransport:
    """One persistent http.client connection per client thread; never retries."""

    def __init__(self, session: Any = None, timeout: Timeout | None = None) -> None:
        self.timeout = timeout or Timeout()
        self.conn: http.client.HTTPConnection | None = None

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        if self.conn is None:
            url = urlsplit(base_url)
            self.conn = http.client.HTTPConnection(
                url.hostname or "127.0.0.1", url.port, timeout=self.timeout.read
            )
        headers, body = {}, None
        if request.json is not None:
            body = json.dumps(request.json).encode()
            headers["Content-Type"] = "application/json"
        elif request.form is not None:
            body = urlencode(request.form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(request.method, request.path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = None
            return Reply(
                0, error=describe_error(exc), refused=isinstance(exc, ConnectionRefusedError)
            )
        return Reply(response.status, text)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--votes", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args(argv)
    transports = {"requests": SessionTransport, "http.client": HttpClientTransport}
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in [*transports, "hey"]}
    with (
        tempfile.TemporaryDirectory() as tmp,
        reference_target("waitress", 16, "locked", Path(tmp)) as target,
    ):
        measure_driver(target.url, 500, args.clients)  # warm-up
        for number in range(args.rounds):
            for name in rotated([*transports, "hey"], number):
                if name == "hey":
                    result = measure_hey(target.url, args.votes, args.clients, Path(tmp), 120)
                else:
                    driver_module.SessionTransport = transports[name]  # type: ignore[misc]
                    try:
                        result = measure_driver(target.url, args.votes, args.clients)
                    finally:
                        driver_module.SessionTransport = SessionTransport  # type: ignore[misc]
                rates[name].append((result.rate, result.cpu_us_per_request))
    hey = statistics.median(rate for rate, _ in rates["hey"])
    for name, rows in rates.items():
        rate = statistics.median(r for r, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"{name:<12} {rate:8.0f}/s  {cpu:6.0f} µs CPU/request  vs hey {rate / hey:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
