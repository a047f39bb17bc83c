"""Branded 403/404/500 pages (issue 16, item 6): the site's header and styles and a way home, and a 500
page that needs no database."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error

from tests.web.conftest import Org

HOME = 'href="/"'


def _branded(html: str) -> None:
    assert 'class="brand"' in html and "/assets/sextant.css" in html and "site-footer" in html
    assert HOME in html


def test_unknown_page_is_a_branded_404(clients: dict[str, Client], client: Client) -> None:
    response = clients["viewer"].get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    _branded(html)
    assert "Page not found" in html and "<title>Page not found · Sextant</title>" in html
    assert 'aria-label="Main"' in html  # a signed-in user keeps the navigation
    anonymous = client.get("/no-such-page/")
    assert anonymous.status_code == 404 and "Page not found" in anonymous.content.decode()


def test_unknown_team_is_the_branded_404(clients: dict[str, Client], org: Org) -> None:
    response = clients["admin"].get("/teams/no-such-team/")
    assert response.status_code == 404 and "Page not found" in response.content.decode()


def test_forbidden_is_a_branded_403(clients: dict[str, Client]) -> None:
    response = clients["viewer"].get("/reports/")  # reports are for managers and administrators
    assert response.status_code == 403
    html = response.content.decode()
    _branded(html)
    assert "Not allowed" in html


def test_500_page_renders_without_the_database() -> None:
    """No django_db mark: any query here raises, as when the database is what failed."""
    response = server_error(RequestFactory().get("/teams/"))
    assert response.status_code == 500
    html = response.content.decode()
    _branded(html)
    assert "Something went wrong" in html and 'aria-label="Main"' not in html


@pytest.mark.django_db
def test_500_from_a_failing_view_is_branded(settings) -> None:
    client = Client(raise_request_exception=False)
    settings.ROOT_URLCONF = "tests.web.failing_urls"
    response = client.get("/boom/")
    assert response.status_code == 500 and "Something went wrong" in response.content.decode()
