"""Issue 15, finding 1: a far date in a page's query or form is a 400 naming the field, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.web.conftest import Org

EXTREMES = ("9999-12-31", "0001-01-01")


@pytest.mark.parametrize("value", EXTREMES)
@pytest.mark.parametrize("name", ["merged_from", "merged_to"])
def test_pr_explorer_date_filters(admin_client: Client, org: Org, name: str, value: str) -> None:
    response = admin_client.get("/prs/", {name: value})
    assert response.status_code == 400
    assert f"Invalid {name}" in response.content.decode()


@pytest.mark.parametrize("value", EXTREMES)
def test_overview_at(admin_client: Client, org: Org, value: str) -> None:
    response = admin_client.get("/", {"period": "month", "at": value})
    assert response.status_code == 400
    assert "Invalid at" in response.content.decode()


@pytest.mark.parametrize("value", EXTREMES)
def test_survey_round_closing_day(admin_client: Client, org: Org, value: str) -> None:
    response = admin_client.post(
        "/surveys/new/", {"name": "Q3", "closes_on": value, "teams": [org.checkout.pk]}
    )
    assert response.status_code == 400
    assert "closes" in response.content.decode().lower()


@pytest.mark.parametrize("value", EXTREMES)
def test_membership_start(admin_client: Client, org: Org, value: str) -> None:
    response = admin_client.post(
        f"/settings/teams/{org.checkout.slug}/",
        {"action": "add", "identity": "zed@example.com", "start": value},
    )
    assert response.status_code == 400
    assert "Invalid start" in response.content.decode()
