"""`racecheck run --target FILE` on apps nobody here wrote: correct ones PASS, racy ones FAIL.

The apps and their target files live in tests/targets/: a per-item like counter read
back as JSON, a click counter shown only inside an HTML page (read with a regex), and
the classroom voting app driven through its HTML form.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import CliResult, racecheck

from loadtests.target.launcher import RunningTarget, TargetSpec, start_target

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TARGETS = Path(__file__).parent / "targets"
# Enough for the racy apps to lose updates every time (they lose a third or more).
VOTES = "400"

CORRECT = ["likes_locked", "clicks_locked", "classroom_locked"]
RACY = ["likes_racy", "clicks_racy", "clicks_racy_tally_only", "classroom_unlocked"]


def run_target(tmp_path: Path, name: str) -> CliResult:
    """``racecheck run`` on one of the example target files, 32 clients."""
    target = str(TARGETS / f"{name}.toml")
    return racecheck(
        "run", "--target", target, "--clients", "32", "--votes", VOTES, out=tmp_path / "run"
    )


@pytest.mark.parametrize("name", CORRECT)
def test_correct_apps_pass(tmp_path: Path, name: str) -> None:
    run = run_target(tmp_path, name)
    assert run.exit_code == 0, run.describe()
    result = run.result()
    assert result["verdict"] == "PASS"
    assert sum(c["ok"] for c in result["counts"].values()) == int(VOTES)
    for counts in result["counts"].values():
        assert counts["final"] == counts["ok"] and counts["lost"] == 0
    assert run.check("bounds")["status"] == "PASS"
    if name == "classroom_locked":
        # Driven like a person would: START, then the votes, STOP, and a look at the page.
        harness = [(op["f"], op["type"]) for op in run.history() if op["process"] == "harness"]
        assert harness == [
            ("setup", "invoke"),
            ("setup", "ok"),
            ("baseline", "invoke"),
            ("baseline", "ok"),
            ("teardown", "invoke"),
            ("teardown", "ok"),
            ("read", "invoke"),
            ("read", "ok"),
        ]
        assert set(result["counts"]) == {"aye", "nay"}


@pytest.mark.parametrize("name", RACY)
def test_racy_apps_fail_with_lost_updates(tmp_path: Path, name: str) -> None:
    run = run_target(tmp_path, name)
    assert run.exit_code == 1, run.describe()
    result = run.result()
    assert result["verdict"] == "FAIL" and result["lost"] > 0
    bounds = run.check("bounds")
    assert bounds["status"] == "FAIL" and bounds["witnesses"]
    unique = run.check("unique-counts")
    if name in ("likes_racy", "clicks_racy"):  # these files say where the count is returned
        assert unique["status"] == "FAIL" and unique["witnesses"]
    else:
        assert unique["status"] == "SKIP"


def test_a_run_in_which_every_vote_was_refused_is_not_a_pass(tmp_path: Path) -> None:
    # The classroom form without its START step: every AYE/NAY is refused with 409
    # "no vote is in progress", so the run proves nothing about the counter.
    text = (TARGETS / "classroom_locked.toml").read_text()
    head, _, rest = text.partition("[[setup]]")
    _, _, counters = rest.partition("[[counters]]")
    path = tmp_path / "no_setup.toml"
    # Preflight would stop this run at the first refusal (see test_real_apps.py); without
    # it the load runs, and its refusals must still not make a PASS.
    head = head.replace("[target]\n", "[target]\npreflight = false\n")
    path.write_text(head + "[[counters]]" + counters)
    run = racecheck(
        "run", "--target", str(path), "--clients", "4", "--votes", "20", out=tmp_path / "run"
    )
    result = run.result()
    # Refusals are fails, never lost votes:
    assert sum(c["fail"] for c in result["counts"].values()) == 20
    assert result["lost"] == 0
    assert result["verdict"] == "UNKNOWN" and run.exit_code == 3, run.describe()


@pytest.fixture
def likes_server(tmp_path: Path) -> Iterator[RunningTarget]:
    spec = TargetSpec(app="likes:create_app", pythonpath=(str(TARGETS),), health_path=None)
    target = start_target(spec, ready_timeout=60.0, log_path=tmp_path / "likes.log")
    try:
        yield target
    finally:
        target.stop()


def test_a_target_file_can_point_at_a_running_app(
    tmp_path: Path, likes_server: RunningTarget
) -> None:
    text = (TARGETS / "likes_locked.toml").read_text()
    text = text.replace('app = "likes:create_app"', f'url = "{likes_server.url}"')
    path = tmp_path / "running.toml"
    path.write_text(text)
    run = racecheck("run", "--target", str(path), "--votes", "200", out=tmp_path / "run")
    assert run.exit_code == 0, run.describe()
    assert run.result()["verdict"] == "PASS"
    assert likes_server.alive()  # racecheck used it, and did not stop what it did not start


INVALID = {
    "unknown key": ('[target]\napp = "likes:create_app"\nport = 8000\n', "target.port"),
    "bad regex": (
        '[target]\napp = "clicks:create_app"\n[[counters]]\nname = "c"\n'
        'increment = { path = "/click" }\nread = { path = "/", regex = "Count: (\\\\d+" }\n',
        "counters[0].read.regex",
    ),
    "no read": (
        '[target]\napp = "likes:create_app"\n[[counters]]\nname = "a"\n'
        'increment = { path = "/like/a" }\n',
        "counters[0].read",
    ),
    "workers without gunicorn": (
        '[target]\napp = "likes:create_app"\nworkers = 2\n[[counters]]\nname = "a"\n'
        'increment = { path = "/like/a" }\nread = { path = "/likes", json = "a" }\n',
        "target.workers",
    ),
    "not toml": ("[target\n", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_target_file_exits_2_naming_the_key_and_starts_nothing(
    tmp_path: Path, case: str
) -> None:
    text, key = INVALID[case]
    path = tmp_path / "bad.toml"
    path.write_text(textwrap.dedent(text))
    out = tmp_path / "run"
    run = racecheck("run", "--target", str(path), "--votes", "10", out=out)
    assert run.exit_code == 2, run.describe()
    assert key in run.stderr and str(path) in run.stderr
    assert "Traceback" not in run.stderr
    assert not out.exists(), "nothing may start for an invalid file"


def test_a_remote_url_in_a_target_file_is_refused_before_any_request(tmp_path: Path) -> None:
    text = (TARGETS / "likes_locked.toml").read_text()
    path = tmp_path / "remote.toml"
    path.write_text(text.replace('app = "likes:create_app"', 'url = "http://192.0.2.1:8000"'))
    out = tmp_path / "run"
    run = racecheck("run", "--target", str(path), "--votes", "10", out=out)
    assert run.exit_code == 2, run.describe()
    assert "--allow-remote" in run.stderr and not out.exists()


def test_an_app_that_cannot_be_imported_is_a_harness_error_with_a_hint(tmp_path: Path) -> None:
    text = (TARGETS / "likes_locked.toml").read_text()
    path = tmp_path / "missing.toml"
    path.write_text(text.replace("likes:create_app", "no_such_module_here:create_app"))
    run = racecheck("run", "--target", str(path), "--votes", "10", out=tmp_path / "run")
    assert run.exit_code == 4, run.describe()
    assert "no_such_module_here" in run.stderr
