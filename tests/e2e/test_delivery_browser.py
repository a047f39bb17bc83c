"""The Delivery page in a real browser on the (small) demo organization, at 1280 and 390 px: the trend
charts are drawn, clicking a point opens the deployments and incidents behind it, the incident timeline
is drawn, and nothing errs under the CSP.  Screenshots go to var/screens/i18/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_walkthrough import demo, log_in, watch_errors  # noqa: F401  (demo is a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens" / "i18"


@pytest.mark.parametrize("width", [1280, 390])
def test_delivery_page_draws_and_drills_down(
    live_server: Any,
    browser: Browser,
    demo: dict[str, Any],  # noqa: F811
    width: int,
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    log_in(page, live_server.url, "ada")
    page.click("nav.main-nav >> text=Delivery")
    expect(page.locator("h1")).to_have_text("Delivery")
    expect(page.locator("#chart-change_failure_rate svg.main-svg").first).to_be_attached()
    assert page.locator(".kpi-value").count() == 5
    expect(page.locator("#chart-incident-timeline svg.main-svg").first).to_be_attached()
    page.screenshot(path=SCREENS / f"delivery-{width}.png", full_page=True)
    # a point of the deployment frequency trend: that week's deployments and incidents
    chart = page.locator("#chart-deployment_frequency")
    chart.scroll_into_view_if_needed()
    point = chart.locator("g.points path").last
    expect(point).to_be_attached()
    point.click(force=True)
    expect(page.locator("#behind h2")).to_contain_text("Behind the numbers")
    assert page.locator("#behind table").first.locator("tbody tr").count() >= 1
    page.screenshot(path=SCREENS / f"delivery-drill-{width}.png", full_page=True)
    assert not errors, errors
    context.close()
