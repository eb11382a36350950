"""Claiming a run directory: one run per folder, never two runs mixed in one.

A run directory holds ``run.json`` from the moment the run starts: the run's id,
and (once the run is planned) the settings a re-check needs, so even a run that
was killed can be judged from what it left. A folder is refused when it already
holds anything (another run's files would be read back as this run's), unless the
user asks for it to be emptied with :data:`REPLACE_FLAG`, and even then only when
racecheck wrote it: a user's own files are never deleted. While a run writes into
its folder it holds an exclusive lock on it, so a second run cannot empty it.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests.errors import UsageError
from loadtests.files import os_problem, read_schema_json, write_atomic

REPLACE_FLAG = "--replace"
RUN_FILE = "run.json"
RUN_SCHEMA = "racecheck/run/v1"
RESULT_SCHEMA = "racecheck/result/v1"


@dataclass
class Claim:
    """A run directory this process owns until :meth:`release` (or its exit)."""

    path: Path
    run_id: str
    _fd: int | None = field(default=None, repr=False)
    started: str = ""

    def describe(self, **extra: Any) -> None:
        """(Re)write run.json with the run's id and ``extra`` (settings a re-check needs)."""
        body = {"schema": RUN_SCHEMA, "run_id": self.run_id, "started": self.started, **extra}
        write_atomic(self.path / RUN_FILE, json.dumps(body, indent=2, default=str) + "\n")

    def release(self) -> None:
        """Let another run have the folder."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _schema(path: Path) -> str | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw.get("schema") if isinstance(raw, Mapping) else None


def written_by_racecheck(folder: Path) -> bool:
    """Whether ``folder`` is a run directory racecheck wrote (its run.json or result.json)."""
    return (
        _schema(folder / RUN_FILE) == RUN_SCHEMA or _schema(folder / "result.json") == RESULT_SCHEMA
    )


def _lock(folder: Path) -> int:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UsageError(
            f"another racecheck run is writing into {folder} right now; give this run its own --out"
        ) from None
    return fd


def _empty(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def claim(folder: Path, replace: bool = False) -> Claim:
    """Create or take ``folder`` for a new run; refuse one that holds anything else."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file, not a folder; give a folder path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = _lock(folder)
    except OSError as exc:
        raise os_problem(exc, folder, "create the run directory") from exc
    try:
        entries = sorted(e.name for e in folder.iterdir())
        if entries and not replace:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise UsageError(
                f"--out {folder} is not empty (it holds {shown}); racecheck never mixes two "
                f"runs in one folder: choose a new folder, or pass {REPLACE_FLAG} to delete "
                "the previous run's files first"
            )
        if entries:
            if not written_by_racecheck(folder):
                raise UsageError(
                    f"{REPLACE_FLAG} empties only a folder racecheck wrote (with its "
                    f"{RUN_FILE} or result.json), and {folder} holds other files; "
                    "choose another --out"
                )
            _empty(folder)
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        made = Claim(folder, secrets.token_hex(6), fd, started)
        made.describe()
        return made
    except OSError as exc:
        os.close(fd)
        raise os_problem(exc, folder) from exc
    except BaseException:
        os.close(fd)
        raise


def read_run_file(folder: Path) -> dict[str, Any] | None:
    """The run.json a run leaves from its start, or None if there is none."""
    path = folder / RUN_FILE
    if not path.is_file():
        return None
    return read_schema_json(path, RUN_SCHEMA, "a racecheck run file")
