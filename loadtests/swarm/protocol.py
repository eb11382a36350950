"""What racecheck's Locust processes say to each other, and what they leave for the harness.

Master and workers both import this module and neither imports the other (after
Locust's ``rpc/protocol.py``). Locust carries the messages (msgpack) and the run
info (on ``parsed_options``, which it forwards to the workers); the harness reads
``summary.json``. Nothing here imports locust.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.errors import HistoryError
from loadtests.files import read_schema_json, write_atomic

# Messages, by who sends them:
STOP_MSG = "racecheck_stop"  # master -> workers: stop voting and hand in
FINAL_MSG = "racecheck_final"  # worker -> master: a WorkerFinal
HELLO_MSG = "racecheck_hello"  # worker -> master: this worker takes part in the run
DONE_MSG = "racecheck_done"  # worker -> master: its quota is spent
# The attribute of parsed_options that carries the RunInfo to the workers.
RUN_ATTR = "racecheck_run"
SUMMARY_SCHEMA = "racecheck/locust-summary/v1"


@dataclass(frozen=True)
class RunInfo:
    """What the master decides at test start and every worker needs to know."""

    run_id: str
    run_dir: str
    quotas: Mapping[str, int] | None = None  # node id -> votes; None: no vote limit

    def to_dict(self) -> dict[str, Any]:
        """The form sent to the workers (msgpack-able)."""
        return {"run_id": self.run_id, "run_dir": self.run_dir, "quotas": self.quotas}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RunInfo:
        """Rebuild what the master sent."""
        quotas = raw.get("quotas")
        return cls(
            str(raw["run_id"]),
            str(raw["run_dir"]),
            {str(k): int(v) for k, v in quotas.items()} if quotas is not None else None,
        )


def describe_worker(worker: str, node: str) -> str:
    """A worker's name for people: its label and Locust's id for it."""
    return f"Locust worker {worker} ({node})"


@dataclass(frozen=True)
class WorkerFinal:
    """A worker's last word for one run: where its history is and what it holds."""

    run_id: str
    worker: str  # the label used in process names and vote ids, e.g. "w1"
    node: str  # Locust's id for the worker process
    path: str
    ops: int
    counts: Mapping[str, Sequence[int]]
    closed_as_info: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The message body (msgpack- and JSON-able)."""
        return {
            "run_id": self.run_id,
            "worker": self.worker,
            "node": self.node,
            "path": self.path,
            "ops": self.ops,
            "counts": {k: list(v) for k, v in self.counts.items()},
            "closed_as_info": self.closed_as_info,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> WorkerFinal:
        """Rebuild a final message, refusing a malformed one."""
        try:
            return cls(
                str(raw["run_id"]),
                str(raw["worker"]),
                str(raw["node"]),
                str(raw["path"]),
                int(raw["ops"]),
                {str(k): [int(n) for n in v] for k, v in raw["counts"].items()},
                int(raw.get("closed_as_info", 0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HistoryError(f"malformed final message from a Locust worker: {exc}") from exc

    def describe(self) -> str:
        """How gaps and logs name this worker."""
        return describe_worker(self.worker, self.node)


@dataclass(frozen=True)
class RunSummary:
    """What a managed Locust run leaves for the harness: the finals and the gaps."""

    run_id: str
    finals: tuple[WorkerFinal, ...]
    gaps: tuple[str, ...] = ()

    def write(self, path: Path) -> None:
        """Write summary.json (atomically: the harness never reads half of it)."""
        body = {
            "schema": SUMMARY_SCHEMA,
            "run_id": self.run_id,
            "finals": [f.to_dict() for f in self.finals],
            "gaps": list(self.gaps),
        }
        write_atomic(path, json.dumps(body, indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        """Load summary.json; raise HistoryError when it is missing or malformed."""
        raw = read_schema_json(path, SUMMARY_SCHEMA, "a racecheck Locust summary")
        return cls(
            str(raw.get("run_id")),
            tuple(WorkerFinal.from_dict(f) for f in raw.get("finals", ())),
            tuple(str(g) for g in raw.get("gaps", ())),
        )
