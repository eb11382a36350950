"""--out that cannot hold a run: unwritable, full, missing, a file. One line, exit 2 or 4, no .tmp.

As root the test mounts small tmpfs file systems of its own (read-only, and 64 KiB);
otherwise a folder made read-only and RLIMIT_FSIZE stand in for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import RACECHECK, TAG_VARIABLE, racecheck, tagged_processes

ROOT = os.geteuid() == 0
SMALL = 64 * 1024


@contextlib.contextmanager
def tmpfs(where: Path, *options: str) -> Iterator[Path]:
    """A tmpfs of the test's own at ``where``, unmounted afterwards."""
    where.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)], check=True
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def run_limited(
    args: list[str], fsize: int | None = None, nofile: int | None = None
) -> subprocess.CompletedProcess[str]:
    """racecheck ARGS (under a file-size limit if asked); nothing it started may outlive it."""
    tag = uuid.uuid4().hex

    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if nofile is not None:
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))

    done = subprocess.run(
        [RACECHECK, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, TAG_VARIABLE: tag, "CI": "1", "COLUMNS": "200"},
        preexec_fn=limit,
    )
    assert tagged_processes(tag) == []
    return done


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def no_leftovers(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    result = folder / "result.json"
    if result.exists():
        json.loads(result.read_text())  # whole, if there at all


@pytest.mark.e2e
def test_an_unwritable_out_is_bad_input(tmp_path: Path) -> None:
    if ROOT:
        context: contextlib.AbstractContextManager[Path] = tmpfs(tmp_path / "ro", "ro", "size=1m")
    else:
        (tmp_path / "ro").mkdir()
        (tmp_path / "ro").chmod(stat.S_IRUSR | stat.S_IXUSR)
        context = contextlib.nullcontext(tmp_path / "ro")
    with context as folder:
        done = run_limited(["run", "--votes", "20", "--out", str(folder / "run")])
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "cannot create the run directory" in line and "--out" in line


@pytest.mark.e2e
def test_a_full_out_is_a_harness_error_with_nothing_half_written(tmp_path: Path) -> None:
    args = ["run", "--votes", "1500", "--clients", "4"]
    if ROOT:
        with tmpfs(tmp_path / "small", f"size={SMALL}") as folder:
            done = run_limited([*args, "--out", str(folder / "run")])
            no_leftovers(folder)
    else:
        done = run_limited([*args, "--out", str(tmp_path / "run")], fsize=SMALL)
        no_leftovers(tmp_path / "run")
    assert done.returncode == 4, done.stderr
    line = one_line(done.stderr)
    assert "free some space" in line


@pytest.mark.e2e
def test_a_missing_out_is_created_with_its_parents(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "run"
    run = racecheck("run", "--votes", "20", "--clients", "2", out=out)
    assert run.exit_code == 0, run.describe()
    assert run.result()["verdict"] == "PASS"


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_an_out_that_is_a_file_or_under_one_is_bad_input(tmp_path: Path, where: str) -> None:
    (tmp_path / "f").write_text("mine")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "run"
    run = racecheck("run", "--votes", "20", out=out)
    assert run.exit_code == 2, run.describe()
    one_line(run.stderr)
    assert (tmp_path / "f").read_text() == "mine"


@pytest.mark.e2e
def test_running_out_of_file_descriptors_is_a_harness_error_saying_how_to_raise_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    done = run_limited(["run", "--votes", "300", "--clients", "40", "--out", str(out)], nofile=30)
    assert done.returncode == 4, done.stdout + done.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["verdict"] == "ERROR"
    assert "ulimit -n" in result["reason"] and "Too many open files" in result["reason"]
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    starved = [op for op in history if "Too many open files" in str(op.get("value"))]
    assert starved and all(op["type"] == "fail" for op in starved)  # never sent, not info
