"""Browser tests: Playwright driving Debian's headless Chromium (/usr/bin/chromium) against live_server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

# Playwright's sync API keeps an event loop on this thread; the ORM calls the test makes between page
# actions are still plain synchronous code, so Django's async-safety guard would misfire.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# plotly.js draws the charts in the browser; on a loaded CI machine that takes more than the default 5 s.
expect.set_options(timeout=20_000)

CHROMIUM = os.environ.get("SEXTANT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def shots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
