"""Debian's chromium under Playwright, launched the one way every browser test uses."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
# Headless as root on a machine with no outside network: no sandbox, and nothing that
# phones home (background networking, component updates, sync), or chromium keeps
# retrying connections that this machine refuses.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Fail loudly when chromium is missing: a browser test must never vanish quietly."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)


def launch_chromium(playwright: Playwright) -> Browser:
    """Headless Debian chromium (never a downloaded browser)."""
    require_chromium()
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
