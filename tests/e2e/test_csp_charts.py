"""In a real browser under Sextant's CSP (no 'unsafe-inline' script, issue 15 finding 13): the charts of a
team dashboard and the survey trend chart are drawn from their JSON data blocks by the static script,
and the console reports no CSP violation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from tests.e2e.test_walkthrough import demo, log_in  # noqa: F401  (demo is a fixture)
from tests.factories import make_response, make_round, make_team_members

pytestmark = pytest.mark.django_db(transaction=True)


def test_charts_render_under_the_csp_without_violations(
    live_server: Any,
    browser: Browser,
    demo: dict[str, Any],  # noqa: F811
) -> None:
    team = demo["team"]
    people = make_team_members(team, 6, prefix="csp")
    for weeks in (6, 3):
        opened = timezone.now() - dt.timedelta(weeks=weeks)
        survey_round = make_round(teams=[team], opened_at=opened, open_days=7)
        for person in people:
            make_response(survey_round=survey_round, team=team, person=person)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    log_in(page, live_server.url, "ada")

    response = page.goto(f"{live_server.url}/teams/{team.slug}/")
    assert response is not None
    script_src = response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src
    expect(page.locator("#chart-cycle-time svg.main-svg").first).to_be_attached()
    assert page.locator(".chart svg.main-svg").count() >= 6

    page.goto(f"{live_server.url}/surveys/")
    expect(page.locator("#chart-survey-trend svg.main-svg").first).to_be_attached()

    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title").first).to_be_visible()  # its start-up script ran

    violations = [line for line in console if "Content Security Policy" in line or "pageerror" in line]
    assert not violations, violations
    context.close()
