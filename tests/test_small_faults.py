"""The smaller promises of issue 16: a target file's name, a quiet waitress log, no scratch
folder left after SIGKILL, and a launch failure that still leaves result.json and junit.xml."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from support.cli import racecheck
from support.killing import killable

from loadtests.errors import UsageError
from loadtests.run.settings import RunSettings
from loadtests.target.wsgi import OncePerInterval

TARGETS = Path(__file__).parent / "targets"
APPS = Path(__file__).parent / "apps"


def test_queue_depth_lines_are_held_back_to_one_per_interval() -> None:
    gate = OncePerInterval(10.0)
    records = [
        logging.LogRecord(
            "waitress.queue", logging.WARNING, "", 0, "Task queue depth is 3", (), None
        )
        for _ in range(5)
    ]
    for n, record in enumerate(records):
        record.created = 100.0 + n
    late = logging.LogRecord("waitress.queue", logging.WARNING, "", 0, "depth", (), None)
    late.created = 111.0
    assert [gate.filter(r) for r in [*records, late]] == [True, False, False, False, False, True]
    assert "4 such lines held back" in str(late.msg)


@pytest.mark.e2e
def test_a_target_files_name_names_the_run(tmp_path: Path) -> None:
    text = (TARGETS / "classroom_locked.toml").read_text()
    target = tmp_path / "t.toml"
    target.write_text(text.replace("[target]\n", '[target]\nname = "budget-vote"\n', 1))
    run = racecheck("run", "--target", str(target), "--votes", "20", "--clients", "2", cwd=tmp_path)
    assert run.exit_code == 0, run.describe()
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert "budget-vote" in run_dir.name


@pytest.mark.e2e
def test_waitress_under_a_queue_logs_a_few_lines_not_one_per_request(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = racecheck("run", "--votes", "600", "--clients", "32", "--threads", "1", out=out)
    assert run.exit_code == 0, run.describe()
    assert (out / "target.log").read_text().count("queue depth") <= 5


@pytest.mark.e2e
def test_a_launch_failure_leaves_result_and_junit_and_names_no_missing_option(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    run = racecheck(
        "run", "--app", "crash_at_import:app", "--votes", "10", out=out,
        env={"PYTHONPATH": str(APPS)},
    )  # fmt: skip
    assert run.exit_code == 4, run.describe()
    assert (out / "result.json").is_file() and (out / "junit.xml").is_file()
    assert run.result()["verdict"] == "ERROR"
    assert "--ready-timeout" not in run.stderr + run.stdout


@pytest.mark.e2e
def test_no_sqlite_scratch_folder_outlives_a_sigkilled_run(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "run"
    part = out / "parts" / "driver.jsonl"
    args = ("run", "--build", "sqlite", "--votes", "100000", "--out", str(out))
    with killable(*args, env={"TMPDIR": str(scratch)}) as run:
        run.wait_until(lambda: part.is_file() and part.stat().st_size > 0)
        assert list(scratch.glob("racecheck-db-*")), "the sqlite build made no scratch folder"
        run.sigkill()
        assert run.leftovers(also=lambda: bool(list(scratch.glob("racecheck-db-*")))) == []
        assert list(scratch.glob("racecheck-db-*")) == []


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        ({"votes": 10**20}, "--votes"),
        ({"votes": 5, "clients": 10**8}, "--clients"),
        ({"votes": 5, "timeout": 1e300}, "--timeout"),
        ({"votes": 5, "timeout": float("nan")}, "--timeout"),
        ({"votes": 5, "driver": "locust", "processes": 10**6}, "--processes"),
    ],
)
def test_huge_sizes_are_refused_before_anything_starts(
    options: dict[str, object], flag: str
) -> None:
    with pytest.raises(UsageError, match=f"{flag} must be"):
        RunSettings(**options)  # type: ignore[arg-type]


@pytest.mark.e2e
def test_a_huge_timeout_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = racecheck("run", "--votes", "10", "--timeout", "1e300", out=tmp_path / "run")
    assert run.exit_code == 2, run.describe()
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    run = racecheck("run", "--votes", "20", "--clients", "2", out=out)
    assert run.exit_code == 0, run.describe()
    return out


EDITS = {
    "final-a-list": lambda d: d.update(final=[1]),
    "checks-a-number": lambda d: d.update(checks=5),
    "no-verdict": lambda d: d.pop("verdict"),
    "choices-a-number": lambda d: d["check_settings"].update(choices=5),
    "final-count-a-word": lambda d: d["counts"]["yes"].update(final="x"),
    "latency-a-number": lambda d: d["stats"].update(latency_ms=5),
}


@pytest.mark.e2e
@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("command", ["check", "report"])
def test_a_hand_edited_result_is_one_line_never_a_traceback(
    finished_run: Path, tmp_path: Path, edit: str, command: str
) -> None:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    data = json.loads((copy / "result.json").read_text())
    EDITS[edit](data)
    (copy / "result.json").write_text(json.dumps(data))
    run = racecheck(command, str(copy))
    assert run.exit_code in (0, 2), run.describe()  # 0: a value check never reads
    assert "Traceback" not in run.stderr
    if run.exit_code == 2:
        assert len(run.stderr.strip().splitlines()) == 1
