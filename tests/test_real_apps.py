"""Real apps as they are: racecheck's own requests never count, mistakes stop in seconds.

The apps are in tests/targets/ (a page-visit counter whose only read counts itself) and
tests/apps/ (a tutorial's module-level app.run()).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from support.cli import CliResult, racecheck

from loadtests.errors import LaunchError
from loadtests.target.launcher import TargetSpec, start_target
from loadtests.target.readiness import HealthPathError

pytestmark = [pytest.mark.e2e]

TARGETS = Path(__file__).parent / "targets"
APPS = Path(__file__).parent / "apps"


def run_file(tmp_path: Path, name: str, votes: str = "200") -> CliResult:
    """``racecheck run --target tests/targets/NAME.toml``, 8 clients."""
    return racecheck(
        "run",
        "--target",
        str(TARGETS / f"{name}.toml"),
        "--clients",
        "8",
        "--votes",
        votes,
        out=tmp_path / "run",
    )


def visits_file(tmp_path: Path, mode: str, **replace: str) -> Path:
    text = (TARGETS / f"visits_{mode}.toml").read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = TARGETS / f"_tmp_{tmp_path.name}.toml"  # beside visits.py, so it imports
    path.write_text(text)
    return path


def test_readiness_sends_the_app_no_request(tmp_path: Path) -> None:
    spec = TargetSpec(
        app="visits:create_app",
        pythonpath=(str(TARGETS),),
        health_path=None,
        env={"VISITS_START": "41"},
    )
    with start_target(spec, ready_timeout=60.0, log_path=tmp_path / "t.log") as target:
        page = requests.get(f"{target.url}/", timeout=10).text
    assert "visitor number <b>42</b>" in page  # 41, plus this one: the launcher sent none


def test_a_health_path_the_app_lacks_fails_at_once_with_the_fix(tmp_path: Path) -> None:
    spec = TargetSpec(app="visits:create_app", pythonpath=(str(TARGETS),), health_path="/healthz")
    started = time.monotonic()
    with pytest.raises(HealthPathError) as caught:
        start_target(spec, ready_timeout=60.0, log_path=tmp_path / "t.log")
    assert time.monotonic() - started < 30, "must not wait for the ready timeout"
    text = str(caught.value)
    assert "GET /healthz answered HTTP 404" in text and "remove it" in text
    assert "health_path" not in text and "--ready-timeout" not in text


def test_a_module_level_app_run_is_named(tmp_path: Path) -> None:
    spec = TargetSpec(app="runs_at_import:app", pythonpath=(str(APPS),), health_path=None)
    with pytest.raises(LaunchError) as caught:
        start_target(spec, ready_timeout=60.0, log_path=tmp_path / "t.log")
    text = str(caught.value)
    assert "runs_at_import.py:13" in text and '__name__ == "__main__"' in text


@pytest.mark.slow
def test_a_counter_whose_only_read_counts_itself_passes_when_correct(tmp_path: Path) -> None:
    run = run_file(tmp_path, "visits_locked", votes="300")
    assert run.exit_code == 0, run.describe()
    result = run.result()
    assert result["counts"]["visits"]["final"] == 300 == result["counts"]["visits"]["ok"]
    # The app started at 41; preflight, the baseline and the final read are the harness's.
    final = result["final"]
    assert final["harness_added"] == {"visits": 1}
    assert final["counts"]["visits"] == final["baseline"]["visits"] + 300 + 1
    harness = [op["f"] for op in run.history() if op["process"] == "harness"]
    assert harness == ["baseline", "baseline", "read", "read"]
    assert (run.run_dir / "preflight.jsonl").is_file()  # type: ignore[operator]


@pytest.mark.slow
def test_a_counter_whose_only_read_counts_itself_fails_when_racy(tmp_path: Path) -> None:
    run = run_file(tmp_path, "visits_racy", votes="300")
    assert run.exit_code == 1, run.describe()
    assert run.check("bounds")["status"] == "FAIL"


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            "regex = 'visitor number <b>(\\d+)</b>'",
            "regex = 'visitor nmuber <b>(\\d+)</b>'",
            "counters[0].read (GET /) got HTTP 200: cannot read counter 'visits'",
        ),
        (
            'read = { method = "GET", path = "/"',
            'read = { method = "GET", path = "/vists"',
            "counters[0].read (GET /vists) got HTTP 404",
        ),
        (
            'increment = { method = "GET", path = "/" }',
            'increment = { method = "POST", path = "/" }',
            "counters[0].increment (POST /) got HTTP 405",
        ),
    ],
    ids=["read-regex", "read-path", "increment-method"],
)
def test_a_typo_stops_the_run_before_the_load_with_the_reason(
    tmp_path: Path, old: str, new: str, says: str
) -> None:
    path = visits_file(tmp_path, "locked", **{old: new})
    try:
        run = racecheck("run", "--target", str(path), "--votes", "300", out=tmp_path / "run")
    finally:
        path.unlink()
    assert run.exit_code == 2, run.describe()
    assert run.seconds < 15  # bounded generously on a loaded machine; typically ~1-2 s
    assert says in run.stdout + run.stderr
    assert run.result()["verdict"] == "ERROR"
    assert not [op for op in run.history() if op["process"] != "harness"], "no load was sent"


@pytest.mark.slow
def test_why_ops_were_info_is_on_the_console_in_result_json_and_in_the_report(
    tmp_path: Path,
) -> None:
    run = run_file(tmp_path, "flaky", votes="100")
    assert run.exit_code == 3, run.describe()  # 500s are unknown outcomes, never lost votes
    outcomes = run.result()["outcomes"]
    group = outcomes["groups"][0]
    assert (group["type"], group["f"], group["status"], group["count"]) == ("info", "vote", 500, 20)
    assert group["reason"] == "500 Internal Server Error"
    assert outcomes["target_traceback"].endswith("RuntimeError: database is locked")
    assert "20 info vote: HTTP 500, 500 Internal Server Error" in run.stdout
    assert "RuntimeError: database is locked" in run.stdout
    page = (run.run_dir / "index.html").read_text()  # type: ignore[operator]
    assert "RuntimeError: database is locked" in page


@pytest.mark.slow
@pytest.mark.parametrize(("name", "code"), [("members_locked", 0), ("members_racy", 1)])
def test_an_app_behind_a_form_login_with_a_csrf_token(tmp_path: Path, name: str, code: int) -> None:
    run = run_file(tmp_path, name)
    assert run.exit_code == code, run.describe()
    result = run.result()
    assert result["counts"]["likes"]["fail"] == 0  # every like got past the login
    # Each of the 8 clients logged in its own session: GET the form, POST it.
    logins = [op for op in run.history() if op["f"] == "login" and op["type"] == "ok"]
    assert len({op["process"] for op in logins if op["process"] != "harness"}) == 8


@pytest.mark.slow
@pytest.mark.parametrize(("name", "code"), [("cart_server", 0), ("cart_cookie", 1)])
def test_a_cookie_session_cart_shared_by_every_client(tmp_path: Path, name: str, code: int) -> None:
    run = run_file(tmp_path, name)
    assert run.exit_code == code, run.describe()
    if code == 1:  # one user's tabs overwrote each other's cookie: items lost, proven
        assert run.check("bounds")["status"] == "FAIL" and run.result()["lost"] > 0


def own_venv(folder: Path) -> Path:
    """A venv with a package racecheck's venv lacks (tinydep), made without the network."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")],
        check=True,
        timeout=120,
    )
    (site,) = (folder / "venv" / "lib").glob("python*/site-packages")
    (site / "tinydep.py").write_text('NAME = "tinydep"\n')
    return folder / "venv" / "bin" / "python"


@pytest.mark.slow
def test_an_app_with_its_own_venv_cwd_and_reset_runs_from_its_target_file(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    shutil.copytree(TARGETS / "ownvenv", app)
    own_venv(app)
    with pytest.raises(ImportError):
        __import__("tinydep")  # not in racecheck's own venv
    run = racecheck(
        "run",
        "--target",
        str(app / "depapp.toml"),
        "--clients",
        "8",
        "--votes",
        "100",
        out=tmp_path / "run",
    )
    assert run.exit_code == 0, run.describe()
    final = run.result()["final"]
    assert final["baseline"] == {"likes": 6}  # the reset's 5, plus preflight's one like
    assert final["counts"] == {"likes": 106}
    assert (app / "data" / "likes.txt").read_text() == "106"  # relative to cwd = "data"


def test_a_failing_reset_command_stops_the_run_with_its_output(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(TARGETS / "ownvenv", app)
    toml = app / "depapp.toml"
    toml.write_text(
        toml.read_text()
        .replace("echo 5 > data/likes.txt", "cat no-such-seed.txt")
        .replace('python = "venv/bin/python"\ncwd = "data"\n', "")
    )
    run = racecheck("run", "--target", str(toml), "--votes", "10", out=tmp_path / "run")
    assert run.exit_code == 2, run.describe()
    assert "reset command 'cat no-such-seed.txt' exited with status 1" in run.stderr
    assert "No such file or directory" in run.stderr


def test_app_on_an_app_without_the_reference_api_says_to_write_a_target_file(
    tmp_path: Path,
) -> None:
    run = racecheck(
        "run", "--app", "tiny_app:create_app", "--votes", "50", out=tmp_path / "run", cwd=APPS
    )
    assert run.exit_code == 2, run.describe()
    assert run.seconds < 15  # no 30 s wait for a /health it does not have
    out = " ".join((run.stdout + run.stderr).split())
    assert "POST /api/resolutions) got HTTP 404" in out
    assert "for any other app, describe its counters in a target file" in out


@pytest.mark.slow
def test_the_pytest_plugin_takes_a_target_file(racecheck_target: Any, racecheck_run: Any) -> None:
    target = racecheck_target(target_file=TARGETS / "visits_locked.toml")
    assert "visitor number <b>42</b>" in requests.get(f"{target.url}/", timeout=10).text
    outcome = racecheck_run(target_file=TARGETS / "visits_racy.toml", clients=8, votes=200)
    assert outcome.verdict.status == "FAIL"


@pytest.mark.slow
def test_compare_takes_target_files_and_resets_before_each_cell(tmp_path: Path) -> None:
    for name in ("visits.py", "visits_locked.toml", "visits_racy.toml"):
        shutil.copy(TARGETS / name, tmp_path / name)
    for name in ("visits_locked.toml", "visits_racy.toml"):
        with (tmp_path / name).open("a") as toml:
            toml.write('\n[[reset]]\ncommand = "echo reset >> resets.log"\n')
    run = racecheck(
        "compare",
        "--target",
        str(tmp_path / "visits_locked.toml"),
        "--target",
        f"{tmp_path / 'visits_racy.toml'}=violation",
        "--clients",
        "8",
        "--votes",
        "200",
        out=tmp_path / "compare",
    )
    assert run.exit_code == 0, run.describe()
    assert "All 2 cells got their expected verdict" in run.stdout
    assert (tmp_path / "resets.log").read_text() == "reset\nreset\n"
