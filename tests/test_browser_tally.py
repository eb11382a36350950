"""``racecheck locust`` in a browser: swarm, watch the Tally tab, stop, read the verdict."""

from __future__ import annotations

import json
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from support.browser import launch_chromium

from loadtests.swarm.driver import locust_env, wait_for_file
from loadtests.target.launcher import ManagedProcess, group_members, start_process

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 60_000  # two shared cores: readiness can take a while


@pytest.fixture
def web_ui(tmp_path: Path) -> Iterator[tuple[ManagedProcess, int]]:
    """``racecheck locust`` on loopback with a free web port; stopped (SIGTERM) at the end."""
    yield from _web_ui(tmp_path)


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


def tally_cell(page: Page, row: str, column: int) -> str:
    """The text of one cell of the Tally table's row whose first cell is ``row``."""
    cells = page.locator("tr", has=page.locator("td", has_text=re.compile(f"^{row}$")))
    return cells.first.locator("td").nth(column).inner_text()


def test_the_tally_tab_shows_live_counts_then_the_verdict(
    web_ui: tuple[ManagedProcess, int], tmp_path: Path
) -> None:
    process, port = web_ui
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("input[name=userCount]", "10")
            page.fill("input[name=spawnRate]", "10")
            page.get_by_role("button", name="Start").click()
            page.get_by_role("tab", name="Tally").click()

            # Live: acknowledged votes and the server's tally both climb.
            expect(
                page.locator("td", has_text="live; exact figures after Stop").first
            ).to_be_visible()
            page.wait_for_function(
                """() => [...document.querySelectorAll('tr')].some(r => {
                    const c = [...r.querySelectorAll('td')].map(td => td.innerText);
                    return c[0] === 'yes' && Number(c[1]) > 50 && Number(c[2]) > 50;
                })"""
            )
            page.screenshot(path=str(tmp_path / "tally-live.png"))

            page.get_by_role("button", name="Stop").click()
            verdict = page.locator("tr", has=page.locator("td", has_text=re.compile("^verdict$")))
            expect(verdict).to_contain_text("PASS")
            page.screenshot(path=str(tmp_path / "tally-verdict.png"), full_page=True)

            for choice in ("yes", "no"):
                acked, server = tally_cell(page, choice, 1), tally_cell(page, choice, 2)
                assert int(acked) == int(server) > 0, (choice, acked, server)
                assert tally_cell(page, choice, 3) == "0"
                assert tally_cell(page, choice, 6) == "final"
            for check in ("bounds", "unique-counts", "history-complete"):
                assert tally_cell(page, check, 6) == "PASS"
        finally:
            browser.close()

    assert (tmp_path / "tally-verdict.png").stat().st_size > 0
    # The run directory the master wrote agrees with what the page showed.
    (result_file,) = (tmp_path / "reports").glob("*-locust/result.json")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert result["verdict"] == "PASS"
    locust_pid = json.loads((tmp_path / "reports" / "locust-web.json").read_text())["pid"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(90.0) == 0
    assert not group_members(locust_pid), "Locust outlived racecheck locust"


TARGETS = Path(__file__).parent / "targets"


def test_the_tally_tab_shows_every_counter_of_a_target_file(tmp_path: Path) -> None:
    ui = _web_ui(tmp_path, "--target", str(TARGETS / "likes_locked.toml"))
    _, port = next(ui)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(f"http://127.0.0.1:{port}/")
                page.fill("input[name=userCount]", "8")
                page.fill("input[name=spawnRate]", "8")
                page.get_by_role("button", name="Start").click()
                page.get_by_role("tab", name="Tally").click()
                page.wait_for_function(
                    """() => [...document.querySelectorAll('tr')].some(r => {
                        const c = [...r.querySelectorAll('td')].map(td => td.innerText);
                        return c[0] === 'likes-b' && Number(c[1]) > 20;
                    })"""
                )
                page.get_by_role("button", name="Stop").click()
                verdict = page.locator(
                    "tr", has=page.locator("td", has_text=re.compile("^verdict$"))
                )
                expect(verdict).to_contain_text("PASS")
                for counter in ("likes-a", "likes-b"):
                    acked, server = tally_cell(page, counter, 1), tally_cell(page, counter, 2)
                    assert int(acked) == int(server) > 0, (counter, acked, server)
            finally:
                browser.close()
    finally:
        next(ui, None)  # stops racecheck locust
