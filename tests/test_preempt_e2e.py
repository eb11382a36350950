"""--preempt end to end: the races the GIL hides FAIL with it and PASS without; locks PASS.

The reference app's ``naive`` build and the textbook apps in tests/targets/textbook/
(a global hit counter, per-tag counters in a defaultdict, an id generator) do a bare
read-modify-write. Under CPython 3.11's GIL that never interleaves, so without --preempt
they PASS; with it they FAIL, with witnesses. Their locked twins PASS both ways. The
other textbook apps (check-then-act stock, a per-request global, list numbering) need
checks that do not exist yet; tests/test_textbook_apps.py exercises them single-threaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.cli import CliResult, racecheck

from loadtests.target.preempt import FAIL_MEANING, GIL_MAY_HIDE, TRACE_DIR_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TEXTBOOK = Path(__file__).parent / "targets" / "textbook"
VOTES = "600"  # the racy apps lose a third or more of these under --preempt
COUNTERS = ["hits", "tags", "ids"]


def run(tmp_path: Path, *args: str) -> CliResult:
    return racecheck("run", "--clients", "16", "--votes", VOTES, *args, out=tmp_path / "run")


def textbook(tmp_path: Path, name: str, *args: str) -> CliResult:
    return run(tmp_path, "--target", str(TEXTBOOK / f"{name}.toml"), *args)


def test_naive_build_passes_without_preempt_and_says_the_gil_may_hide_a_race(
    tmp_path: Path,
) -> None:
    result = run(tmp_path, "--build", "naive")
    assert result.exit_code == 0, result.describe()
    assert result.result()["verdict"] == "PASS"
    assert result.result()["notes"] == [GIL_MAY_HIDE]
    assert result.result()["settings"]["preemption"] is None
    assert "GIL may be hiding a race" in " ".join(result.stdout.split())


def test_naive_build_fails_under_preempt_with_witnesses_and_a_trace(tmp_path: Path) -> None:
    result = run(tmp_path, "--build", "naive", "--preempt", "--preempt-seed", "7")
    assert result.exit_code == 1, result.describe()
    data = result.result()
    assert data["verdict"] == "FAIL" and data["lost"] > 0
    unique = result.check("unique-counts")
    assert unique["status"] == "FAIL" and unique["witnesses"]
    assert data["notes"] == [FAIL_MEANING]
    assert data["settings"]["preemption"] == {"rate": 1.0, "seed": 7, "modules": ["target_app"]}
    assert "free-threaded CPython" in " ".join(result.stdout.split())
    # The target wrote which app lines each vote ran; the witnesses' votes are there.
    assert result.run_dir is not None
    traced = set()
    for path in (result.run_dir / TRACE_DIR_NAME).glob("*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["kind"] == "request":
                traced.add(record["op"])
    witness_votes = {v["vote_id"] for w in unique["witnesses"] for v in w["votes"]}
    assert witness_votes <= traced
    # The report draws the two requests' lines side by side, with their source text.
    page = (result.run_dir / "index.html").read_text()
    assert "The lines of code that interleaved" in page
    assert "ballot.counts[choice] = count" in page
    assert "free-threaded CPython" in page


@pytest.mark.parametrize("server", ["waitress", "werkzeug", "gunicorn"])
def test_the_locked_build_never_fails_under_preempt(tmp_path: Path, server: str) -> None:
    result = run(tmp_path, "--build", "locked", "--server", server, "--preempt")
    assert result.exit_code == 0, result.describe()
    assert result.result()["verdict"] == "PASS"
    assert result.check("unique-counts")["status"] == "PASS"


@pytest.mark.parametrize("name", COUNTERS)
def test_textbook_counter_passes_without_preempt(tmp_path: Path, name: str) -> None:
    result = textbook(tmp_path, f"{name}_racy")
    assert result.exit_code == 0, result.describe()
    assert result.result()["verdict"] == "PASS"


@pytest.mark.parametrize("name", COUNTERS)
def test_textbook_counter_fails_under_preempt_on_the_bounds(tmp_path: Path, name: str) -> None:
    result = textbook(tmp_path, f"{name}_racy", "--preempt")
    assert result.exit_code == 1, result.describe()
    bounds = result.check("bounds")
    assert bounds["status"] == "FAIL" and bounds["witnesses"]
    # Its reply re-reads the counter, so equal counts are not taken as proof.
    assert result.check("unique-counts")["status"] == "SKIP"
    assert result.result()["settings"]["preemption"]["modules"] == [name]


@pytest.mark.parametrize("name", COUNTERS)
@pytest.mark.parametrize("preempt", [False, True])
def test_textbook_locked_twin_passes(tmp_path: Path, name: str, preempt: bool) -> None:
    result = textbook(tmp_path, f"{name}_locked", *(["--preempt"] if preempt else []))
    assert result.exit_code == 0, result.describe()
    assert result.result()["verdict"] == "PASS"
    assert result.check("unique-counts")["status"] == "PASS"


def test_preempt_true_in_a_target_file_is_enough(tmp_path: Path) -> None:
    result = textbook(tmp_path, "hits_preempt")
    assert result.exit_code == 1, result.describe()
    assert result.result()["settings"]["preemption"]["modules"] == ["hits"]


def test_a_rereading_but_loss_free_handler_does_not_fail_under_preempt(tmp_path: Path) -> None:
    result = textbook(tmp_path, "tickets", "--preempt")
    assert result.exit_code == 0, result.describe()
    assert result.check("bounds")["status"] == "PASS"
    assert result.check("unique-counts")["status"] == "SKIP"


def test_the_pytest_plugin_runs_with_preempt(racecheck_run: Callable[..., Any]) -> None:
    outcome = racecheck_run(build="naive", preempt=True, clients=16, votes=600)
    assert outcome.verdict.status == "FAIL"
    assert outcome.result["settings"]["preemption"]["rate"] == 1.0


def test_the_pytest_plugins_target_can_be_preempted(
    racecheck_target: Callable[..., Any],
) -> None:
    target = racecheck_target(build="locked", preempt=0.5)
    assert target.spec.preempt is not None and target.spec.preempt.rate == 0.5
    assert "preempt rate 0.5" in target.spec.describe()
    # The target process says it installed the tracer, for the app's own package only.
    assert "--preempt: forced switches in target_app (rate 0.5" in target.log_path.read_text()
