"""The settings page's *Add a data source* form for the incident tools, in Chromium at 1280 and 390 px:
choosing Jira shows its fields (and hides GitHub's), adding a Data Center source stores it with its
options, and the token is never shown.  Screenshots: var/screens/i18b/sources-jira-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, expect

from metrics.core.models import DataSource

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "e2e-password-correct-horse"
TOKEN = "NjM4-jira-dc-never-shown-1234"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screens" / "i18b"


@pytest.mark.parametrize("width", [1280, 390])
def test_adding_a_jira_source_in_the_browser(
    live_server: Any, browser: Browser, settings: Any, width: int
) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = Fernet.generate_key().decode()
    get_user_model().objects.create_superuser(username="ada", email="ada@example.com", password=PASSWORD)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")
    page.goto(f"{live_server.url}/settings/sources/")
    page.select_option("select[name=kind]", "jira")
    expect(page.locator("input[name=projects]")).to_be_visible()
    expect(page.locator("select[name=flavor]")).to_be_visible()
    expect(page.locator("input[name=production_workflows]")).to_be_hidden()
    expect(page.locator("input[name=org]")).to_be_hidden()
    page.fill("input[name=name]", f"jira-dc-{width}")
    page.fill("input[name=api_url]", "https://jira.acme.internal")
    page.select_option("select[name=flavor]", "datacenter")
    page.fill("input[name=projects]", "OPS, PLAT")
    page.fill("input[name=priorities]", "Blocker, Critical")
    page.fill("input[name=token]", TOKEN)
    page.locator("#add-source").screenshot(path=SHOTS / f"sources-jira-form-{width}.png")
    page.click("#add-source button[type=submit]")
    expect(page.locator(f"#source-{DataSource.objects.get().pk}")).to_contain_text("projects OPS, PLAT")
    page.screenshot(path=SHOTS / f"sources-jira-added-{width}.png", full_page=True)
    assert TOKEN not in page.content()
    assert DataSource.objects.get().options["priorities"] == ["Blocker", "Critical"]
    assert errors == []
