"""Two runs never mix in one --out: refused unless --replace; files read back name their run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import racecheck

from loadtests.history import History
from loadtests.run.settings import RunSettings
from loadtests.swarm.driver import LocustDriver
from loadtests.swarm.protocol import RunSummary


def test_a_summary_left_by_another_run_is_a_gap_not_evidence(tmp_path: Path) -> None:
    driver = LocustDriver(RunSettings(driver="locust", votes=10), tmp_path, run_id="this-run")
    (tmp_path / "locust").mkdir()
    RunSummary("an-old-run", ()).write(tmp_path / "locust" / "summary.json")
    history = History("locust")
    driver.merge_into(history)
    assert len(history) == 0
    (gap,) = driver.gaps
    assert "belongs to run an-old-run" in gap


@pytest.mark.e2e
def test_a_second_run_into_the_same_out_is_refused_and_the_first_kept(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = racecheck("run", "--votes", "100", "--clients", "4", out=out)
    assert first.exit_code == 0, first.describe()
    saved = (out / "result.json").read_text()
    second = racecheck("run", "--votes", "100", "--clients", "4", out=out)
    assert second.exit_code == 2, second.describe()
    assert "is not empty" in second.stderr and "--replace" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert (out / "result.json").read_text() == saved
    replaced = racecheck("run", "--votes", "100", "--clients", "4", "--replace", out=out)
    assert replaced.exit_code == 0, replaced.describe()
    old_id = json.loads(saved)["settings"]["run_id"]
    assert replaced.result()["settings"]["run_id"] not in (None, old_id)


@pytest.mark.e2e
def test_a_users_own_page_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<h1>mine</h1>")
    for extra in ((), ("--replace",)):
        run = racecheck("run", "--votes", "10", *extra, out=out)
        assert run.exit_code == 2, run.describe()
        assert "Traceback" not in run.stderr
    assert (out / "index.html").read_text() == "<h1>mine</h1>"
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]


@pytest.mark.e2e
def test_a_replaced_locust_run_reads_back_only_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("run", "--driver", "locust", "--processes", "2", "--votes", "200", "--clients", "4")
    first = racecheck(*args, out=out)
    assert first.exit_code == 0, first.describe()
    second = racecheck(*args, "--replace", out=out)
    assert second.exit_code == 0, second.describe()
    run_id = second.result()["settings"]["run_id"]
    summary = json.loads((out / "locust" / "summary.json").read_text())
    assert summary["run_id"] == run_id
    assert json.loads((out / "locust" / "master.json").read_text())["run_id"] == run_id
    assert second.result()["counts"]["yes"]["ok"] + second.result()["counts"]["no"]["ok"] == 200


@pytest.mark.e2e
def test_a_comparison_never_overwrites_a_users_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<h1>mine</h1>")
    for extra in ((), ("--replace",)):
        run = racecheck("compare", "--quick", *extra, out=out)
        assert run.exit_code == 2, run.describe()
        assert "Traceback" not in run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
