"""The reports in a real browser: Debian chromium, driven by Playwright, from file://.

A small real comparison (locked and unlocked under waitress) provides the pages.
Each page must load with no console error and no request but its own file, show
the verdict at the top, and (unlocked) draw the colliding votes. Screenshots are
saved under each run's directory, in ``screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.browser import launch_chromium, require_chromium
from support.cli import racecheck

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

VIEWPORT = {"width": 1280, "height": 900}

require_chromium()  # at collection: a browser test must never vanish quietly

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "cmp"
    done = racecheck("compare", "--builds", "locked,unlocked", "--votes", "2000", out=out)
    assert done.exit_code == 0, done.describe()
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """A page as the browser loaded it, with what it complained about and fetched."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser: Browser) -> Iterator[type[Visit]]:
    pages: list[Page] = []

    class Opened(Visit):
        @classmethod
        def open(cls, path: Path) -> Visit:
            page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            pages.append(page)
            seen = Visit(page)

            def console(message: ConsoleMessage) -> None:
                if message.type in ("error", "warning"):
                    seen.errors.append(f"{message.type}: {message.text}")

            def request(req: Request) -> None:
                seen.requests.append(req.url)

            page.on("console", console)
            page.on("pageerror", lambda exc: seen.errors.append(f"pageerror: {exc}"))
            page.on("request", request)
            page.goto(path.resolve().as_uri(), wait_until="load")
            return seen

    yield Opened
    for page in pages:
        page.close()


def shoot(seen: Visit, run_dir: Path, name: str) -> Path:
    """A full-page screenshot under the run's own directory."""
    path = run_dir / "screenshots" / f"{name}.png"
    path.parent.mkdir(exist_ok=True)
    seen.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def assert_clean_and_verdict_on_top(seen: Visit, path: Path, verdict: str) -> None:
    assert seen.errors == []
    assert seen.requests == [path.resolve().as_uri()]
    banner = seen.page.locator("#verdict")
    assert banner.is_visible()
    box = banner.bounding_box()
    assert box is not None and box["y"] + box["height"] <= VIEWPORT["height"]
    assert seen.page.locator("#verdict .pill").first.inner_text() == verdict


def test_comparison_page(comparison: Path, visit: type[Visit]) -> None:
    index = comparison / "index.html"
    seen = visit.open(index)  # type: ignore[attr-defined]
    assert_clean_and_verdict_on_top(seen, index, "ALL AS EXPECTED")
    assert "not a verdict on an app" in seen.page.locator("#verdict").inner_text()
    assert "All 2 cells got their expected verdict" in seen.page.locator("#verdict").inner_text()
    rows = seen.page.locator("table.cells tbody tr")
    assert rows.count() == 2
    assert re.search(r"locked\s+waitress\s+PASS\s+✓ as expected", rows.nth(0).inner_text())
    assert re.search(r"unlocked\s+waitress\s+FAIL\s+✓ as expected", rows.nth(1).inner_text())
    plots = seen.page.locator("figure svg")
    assert plots.count() == 3
    for i in range(plots.count()):
        assert plots.nth(i).is_visible()
    shoot(seen, comparison, "compare")


def test_unlocked_page_shows_the_colliding_votes(comparison: Path, visit: type[Visit]) -> None:
    run_dir = comparison / "unlocked-waitress"
    index = run_dir / "index.html"
    seen = visit.open(index)  # type: ignore[attr-defined]
    assert_clean_and_verdict_on_top(seen, index, "FAIL")
    assert "acknowledged" in seen.page.locator("#verdict h1").inner_text()
    first = seen.page.locator(".timeline").first
    first.scroll_into_view_if_needed()
    assert first.locator("svg").is_visible()
    heading = first.locator("h3").inner_text()
    # Two votes ("both returned") or more ("three NO votes all returned") may collide.
    count = re.search(r"(?:both|all) returned count (\d+)", heading)
    assert count is not None, heading
    group = first.locator("tr.row-collision")
    assert group.count() >= 2
    for i in range(group.count()):
        cells = group.nth(i).locator("td").all_inner_texts()
        # vote id, client, choice, sent (ms), reply (ms), latency, count returned
        assert re.fullmatch(r"\d+\.\d{3}", cells[3]) and re.fullmatch(r"\d+\.\d{3}", cells[4])
        assert float(cells[3]) < float(cells[4])
        assert cells[6] == count.group(1)
    # The bars are drawn, each labelled with the count it returned.
    labels = first.locator("svg text").all_text_contents()
    assert sum(f"→ {count.group(1)}" in t for t in labels) >= 2
    shoot(seen, run_dir, "index")
    first.screenshot(path=str(run_dir / "screenshots" / "first-collision.png"))


def test_locked_page(comparison: Path, visit: type[Visit]) -> None:
    run_dir = comparison / "locked-waitress"
    index = run_dir / "index.html"
    seen = visit.open(index)  # type: ignore[attr-defined]
    assert_clean_and_verdict_on_top(seen, index, "PASS")
    assert seen.page.locator("#race").count() == 0
    shoot(seen, run_dir, "index")
