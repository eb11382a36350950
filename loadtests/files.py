"""Writing a run's files: whole or not at all, and an OS error as one line that says what to do.

Every file racecheck leaves for people or for CI (result.json, junit.xml, history.jsonl,
index.html) is written to a temporary name beside it and renamed into place, so a
reader never sees half a file; when the write fails (a full disk, a folder made
read-only), the temporary file is removed and the error says what to change.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from loadtests.errors import HarnessError, HistoryError, RacecheckError, UsageError

# The user can fix these by choosing another folder: bad input (exit 2). Anything else
# (a full disk, an I/O error) is the harness failing to record its evidence (exit 4).
_USER_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR})
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def os_problem(exc: OSError, path: Path, doing: str = "write") -> RacecheckError:
    """The one-line error for an OS error on ``path``: UsageError or HarnessError."""
    reason = exc.strerror or str(exc)
    if exc.errno in _USER_ERRNOS:
        return UsageError(
            f"cannot {doing} {path}: {reason}; choose a folder you can write with --out"
        )
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return HarnessError(f"cannot {doing} {path}: {reason}; {raise_open_files()}")
    if exc.errno in _FULL_ERRNOS:
        return HarnessError(
            f"cannot {doing} {path}: {reason}; free some space there or choose another --out"
        )
    return HarnessError(f"cannot {doing} {path}: {reason}")


def raise_open_files() -> str:
    """How to give racecheck more file descriptors (each client holds a connection)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(4 * soft, 4096)
    if hard == resource.RLIM_INFINITY or hard >= wanted:
        how = f"raise it with `ulimit -n {wanted}` in the shell that runs racecheck"
    elif hard > soft:
        how = f"raise it with `ulimit -n {hard}` (the hard limit) in the shell that runs racecheck"
    else:
        how = (
            f"the hard limit is {hard} too: raise it (as root: `ulimit -Hn {wanted}`, or "
            "/etc/security/limits.conf), then `ulimit -n` to match"
        )
    return f"racecheck may open {soft} files at once: {how}, or use fewer --clients"


def tmp_name(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed into place."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO[str]]:
    """Open a temporary file that replaces ``path`` when the block ends without error."""
    tmp = tmp_name(path)
    try:
        with tmp.open(mode, encoding="utf-8") as out:
            yield out
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise os_problem(exc, path) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    with atomic_open(path) as out:
        out.write(text)


def read_schema_json(path: Path, schema: str, what: str) -> dict[str, Any]:
    """A JSON object racecheck wrote (its ``schema`` key says which); HistoryError if not."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise HistoryError(f"cannot read {what} {path}: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("schema") != schema:
        raise HistoryError(f"{path} is not {what} ({schema})")
    return raw


def guarded(path: Path, action: Callable[[], None], doing: str = "write") -> None:
    """Run ``action``, turning an OSError into the one-line error for ``path``."""
    try:
        action()
    except OSError as exc:
        raise os_problem(exc, path, doing) from exc
