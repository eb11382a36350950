"""``racecheck locust`` in a browser: swarm, watch the Tally tab, stop, read the verdict.

Both builds, from Locust's own start form with its defaults: the locked build never
shows a loss while it runs and PASSes; the unlocked one shows a proven loss within
10 s and FAILs. The verdict must arrive after Stop with no reload (Locust stops
polling its stats at Stop; the tab polls racecheck's by itself). Screenshots go to
``reports/browser/<test name>/`` (git-ignored; pytest's tmp dirs are pruned as other
runs start), replaced at every run; the path is printed.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright
from support.browser import launch_chromium

from loadtests import defaults
from loadtests.swarm.driver import locust_env, wait_for_file
from loadtests.target.launcher import ManagedProcess, group_members, start_process

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 60_000  # two shared cores: readiness can take a while
LOSS_SHOWN_MS = 10_000  # the unlocked build's loss must be on the page within this
WATCH_LOCKED_S = 8.0  # how long the locked run is watched for a false alarm
PANEL = "#racecheck-tally"


@pytest.fixture
def web_ui(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ManagedProcess, int]]:
    """``racecheck locust --build B`` on loopback with a free web port; stopped at the end."""
    yield from _web_ui(tmp_path, "--build", request.param)


def _web_ui(tmp_path: Path, *args: str) -> Iterator[tuple[ManagedProcess, int]]:
    command = [sys.executable, "-m", "loadtests", "locust", "--web-port", "0", *args]
    command += ["--out", str(tmp_path / "reports")]
    process = start_process(command, env=locust_env(), log_path=tmp_path / "racecheck.log")
    try:
        info = wait_for_file(tmp_path / "reports" / "locust-web.json", process, 90.0)
        yield process, int(str(info["web_port"]))
    finally:
        process.send_signal(signal.SIGTERM)  # racecheck stops Locust, then the target
        process.wait(90.0)
        process.stop()


def panel(page: Page) -> dict[str, Any]:
    """What the Tally panel shows now: its state, verdict, proof, and each row's cells."""
    found: dict[str, Any] = page.evaluate(
        """() => {
            const n = document.querySelector('#racecheck-tally');
            if (!n) return {};
            const rows = {};
            n.querySelectorAll('tr[data-row]').forEach(r => {
                const cells = {tone: r.dataset.tone};
                r.querySelectorAll('td').forEach(td => { cells[td.dataset.key] = td.innerText; });
                rows[r.dataset.row] = cells;
            });
            return {state: n.dataset.state, verdict: n.dataset.verdict, proof: n.dataset.proof,
                    hidden: n.hidden, rows: rows,
                    lines: n.querySelectorAll('svg path[data-line]').length};
        }"""
    )
    return found


def start_swarm(page: Page, port: int, shots: Path, typed_build: str | None = None) -> None:
    """Open the UI, keep the form's default concurrency, start, open the Tally tab."""
    page.goto(f"http://127.0.0.1:{port}/")
    # The form offers a concurrency that can race (one user never overlaps itself).
    assert page.input_value("input[name=userCount]") == str(defaults.CLIENTS)
    if typed_build is not None:
        page.select_option("select[name=racecheckBuild]", typed_build, force=True)
    page.screenshot(path=str(shots / "start-form.png"))
    page.get_by_role("button", name="Start").click()
    page.get_by_role("tab", name="Tally").click()


def stop_and_read_verdict(page: Page, shots: Path) -> dict[str, Any]:
    """Press Stop and wait, without reloading, until the panel shows the verdict."""
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function(
        "document.querySelector('#racecheck-tally').dataset.verdict !== ''", timeout=TIMEOUT_MS
    )
    page.screenshot(path=str(shots / "tally-verdict.png"), full_page=True)
    return panel(page)


def run_result(tmp_path: Path, build: str) -> dict[str, Any]:
    """The result.json the master wrote, in the run directory named after ``build``."""
    (result_file,) = (tmp_path / "reports").glob(f"*-{build}-locust/result.json")
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    return result


def ends_cleanly(process: ManagedProcess, tmp_path: Path, code: int) -> None:
    """racecheck locust exits with the verdict's code and leaves no Locust behind."""
    locust_pid = json.loads((tmp_path / "reports" / "locust-web.json").read_text())["pid"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(90.0) == code
    assert not group_members(locust_pid), "Locust outlived racecheck locust"


SCREENSHOTS = Path(__file__).resolve().parents[1] / "reports" / "browser"


def screenshots(request: pytest.FixtureRequest) -> Path:
    """This test's screenshot folder, emptied of an earlier run's pictures."""
    shots = SCREENSHOTS / request.node.originalname
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    print(f"screenshots: {shots}")
    return shots


@pytest.mark.parametrize("web_ui", ["locked"], indirect=True)
def test_the_locked_build_never_shows_a_loss_live_then_passes(
    web_ui: tuple[ManagedProcess, int], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    process, port = web_ui
    shots = screenshots(request)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            start_swarm(page, port, shots)
            page.wait_for_function(
                """() => { const r = document.querySelector(
                    '#racecheck-tally tr[data-row="yes"] td[data-key="server"]');
                    return r && Number(r.innerText) > 50; }"""
            )
            seen: list[dict[str, Any]] = []
            watch_until = time.monotonic() + WATCH_LOCKED_S  # a bounded watch, not a timing test
            while time.monotonic() < watch_until:
                now = panel(page)
                seen.append(now)
                assert now["proof"] == "", f"the locked build showed a loss live: {now}"
                assert all(r["tone"] != "bad" for r in now["rows"].values()), now
                page.wait_for_timeout(250)
            page.screenshot(path=str(shots / "tally-live.png"), full_page=True)
            live = seen[-1]
            assert live["state"] == "running" and not live["hidden"] and live["lines"] == 3
            yes = live["rows"]["yes"]
            # Like with like: the tally is never below the acks that preceded its read.
            assert int(yes["server"]) >= int(yes["acked"]) > 0 and yes["lost"] == "0"

            done = stop_and_read_verdict(page, shots)
            assert done["verdict"] == "PASS" and done["proof"] == ""
            for choice in ("yes", "no"):
                row = done["rows"][choice]
                assert int(row["acked"]) == int(row["server"]) > 0, row
                assert (row["difference"], row["status"], row["tone"]) == ("0", "final", "good")
            for check in ("bounds", "unique-counts", "history-complete", "concurrency"):
                assert done["rows"][check]["status"] == "PASS", done["rows"][check]
        finally:
            browser.close()

    assert (shots / "tally-live.png").stat().st_size > 0
    assert (shots / "tally-verdict.png").stat().st_size > 0
    result = run_result(tmp_path, "locked")
    assert result["verdict"] == "PASS"
    ends_cleanly(process, tmp_path, 0)


@pytest.mark.parametrize("web_ui", ["unlocked"], indirect=True)
def test_the_unlocked_build_shows_a_loss_within_seconds_then_fails_under_its_own_name(
    web_ui: tuple[ManagedProcess, int], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    process, port = web_ui
    shots = screenshots(request)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            # The form's build field says "locked": the run must still be the unlocked one.
            start_swarm(page, port, shots, typed_build="locked")
            page.wait_for_function(
                "document.querySelector('#racecheck-tally')?.dataset.proof === 'loss'",
                timeout=LOSS_SHOWN_MS,
            )
            page.screenshot(path=str(shots / "tally-live.png"), full_page=True)
            live = panel(page)
            assert live["state"] == "running"
            bad = [r for r in live["rows"].values() if r["status"] == "LOST"]
            assert bad and all(r["tone"] == "bad" for r in bad), live
            assert any(int(r["lost"]) > 0 or int(r["collisions"]) > 0 for r in bad), (
                "a LOST row names its proof"
            )
            assert "the server reports build unlocked" in page.inner_text(PANEL)

            done = stop_and_read_verdict(page, shots)
            assert done["verdict"] == "FAIL" and done["proof"] == "loss"
            assert done["rows"]["verdict"]["status"] == "FAIL"
            assert any(r["tone"] == "bad" for c, r in done["rows"].items() if c in ("yes", "no"))
        finally:
            browser.close()

    # Named after what the server reported, not what the form said.
    result = run_result(tmp_path, "unlocked")
    assert result["verdict"] == "FAIL" and result["settings"]["build"] == "unlocked"
    assert not list((tmp_path / "reports").glob("*-locked-locust"))
    ends_cleanly(process, tmp_path, 1)


TARGETS = Path(__file__).parent / "targets"


def test_the_tally_tab_shows_every_counter_of_a_target_file(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ui = _web_ui(tmp_path, "--target", str(TARGETS / "likes_locked.toml"))
    _, port = next(ui)
    shots = screenshots(request)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(TIMEOUT_MS)
                start_swarm(page, port, shots)
                page.wait_for_function(
                    """() => { const r = document.querySelector(
                        '#racecheck-tally tr[data-row="likes-b"] td[data-key="server"]');
                        return r && Number(r.innerText) > 20; }"""
                )
                done = stop_and_read_verdict(page, shots)
                assert done["verdict"] == "PASS", done
                for counter in ("likes-a", "likes-b"):
                    row = done["rows"][counter]
                    assert int(row["acked"]) == int(row["server"]) > 0, (counter, row)
            finally:
                browser.close()
    finally:
        next(ui, None)  # stops racecheck locust
