"""Roles: a manager never sees another team's per-person data by any URL or parameter; executives and
viewers never see a name; viewers see no money; only admins reach the settings."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from metrics.core.access import for_user as user_access
from metrics.web.models import UserProfile
from tests.web.conftest import Org, make_user, page

PAGES = [
    "/",
    "/?period=week",
    "/teams/product/",
    "/teams/checkout/",
    "/teams/search/",
    "/teams/platform/",
    "/prs/",
    "/prs/?team=search",
    "/prs/?state=open",
    "/ai-impact/",
    "/surveys/",
]
NAMES = ("Alice Anders", "Bob Brenner", "Carol Castillo", "Dave Dorsey")


def pr_row(html: str, ref: str) -> str:
    found = re.search(rf'<tr data-pr="{re.escape(ref)}">.*?</tr>', html, re.S)
    assert found, ref
    return found.group(0)


def test_checkout_manager_sees_only_checkout_people(clients: dict[str, Client], org: Org) -> None:
    seen = "".join(page(clients["checkout"], url) for url in PAGES)
    assert "Alice Anders" in seen
    assert "Bob Brenner" not in seen and "Carol Castillo" not in seen
    # Dave's name appears only beside his Checkout-time PR: never on his Search PR.
    june = pr_row(page(clients["checkout"], "/prs/?team=search"), "acme/api#7")
    assert "Search facets" in june and "Dave Dorsey" not in june  # the PR itself is no person's data
    assert "aider" in june and "(aider)" not in june  # evidence text can name a person: hidden with it
    assert "Dave Dorsey" in pr_row(page(clients["checkout"], "/prs/?team=checkout"), "acme/web#6")


def test_people_table_only_on_the_managers_own_teams(clients: dict[str, Client], org: Org) -> None:
    own = page(clients["checkout"], "/teams/checkout/")
    assert 'id="people"' in own and "Alice Anders" in own
    for slug in ("search", "product", "platform"):
        other = page(clients["checkout"], f"/teams/{slug}/")
        assert 'id="people"' not in other
        assert not any(name in other for name in NAMES), slug


def test_author_filter_is_refused_outside_the_managers_teams(clients: dict[str, Client], org: Org) -> None:
    for person in (org.bob, org.carol):
        response = clients["checkout"].get(f"/prs/?author={person.pk}")
        assert response.status_code == 403
        assert person.display_name not in response.content.decode()
    # Dave was in Checkout: the filter works, but shows only the PRs of his time there.
    html = page(clients["checkout"], f"/prs/?author={org.dave.pk}")
    assert "Checkout coupons" in html and "Search facets" not in html
    # Combining the author with another team changes nothing.
    html = page(clients["checkout"], f"/prs/?author={org.dave.pk}&team=search")
    assert "Search facets" not in html
    options = page(clients["checkout"], "/prs/")
    assert f'<option value="{org.alice.pk}"' in options and f'<option value="{org.bob.pk}"' not in options


def test_product_manager_sees_the_teams_below_product(clients: dict[str, Client], org: Org) -> None:
    seen = "".join(page(clients["product"], url) for url in PAGES)
    assert "Alice Anders" in seen and "Bob Brenner" in seen and "Dave Dorsey" in seen
    assert "Carol Castillo" not in seen
    assert clients["product"].get(f"/prs/?author={org.carol.pk}").status_code == 403


@pytest.mark.parametrize("role", ["executive", "viewer"])
def test_executives_and_viewers_never_see_a_name(clients: dict[str, Client], org: Org, role: str) -> None:
    seen = "".join(page(clients[role], url) for url in PAGES)
    assert not any(name in seen for name in NAMES)
    assert 'id="people"' not in seen
    assert 'name="author"' not in seen  # no author filter at all
    assert "Co-authored-by: Claude" not in seen
    assert clients[role].get(f"/prs/?author={org.alice.pk}").status_code == 403
    assert "hidden" in page(clients[role], "/prs/")


def test_admin_sees_everyone(clients: dict[str, Client], org: Org) -> None:
    seen = "".join(page(clients["admin"], url) for url in PAGES)
    assert all(name in seen for name in NAMES)


def test_money_is_for_executives_not_viewers(clients: dict[str, Client], org: Org) -> None:
    executive = page(clients["executive"], "/ai-impact/")
    viewer = page(clients["viewer"], "/ai-impact/")
    assert "Net value, measured" in executive and "1,450" in executive
    assert "Net value" not in viewer and "1,450" not in viewer
    assert "18 h" in viewer  # hours saved stay visible


@pytest.mark.parametrize("role", ["checkout", "executive", "viewer"])
@pytest.mark.parametrize(
    "url",
    [
        "/settings/sources/",
        "/settings/teams/",
        "/settings/teams/checkout/",
        "/settings/costs/",
        "/settings/users/",
    ],
)
def test_settings_are_for_admins(clients: dict[str, Client], role: str, url: str) -> None:
    response = clients[role].get(url)
    assert response.status_code == 403
    assert "This page is for admins only." in response.content.decode()


def test_settings_posts_are_for_admins(clients: dict[str, Client], org: Org) -> None:
    response = clients["checkout"].post(
        "/settings/users/", {"username": "x", "password": "p", "role": "admin"}
    )
    assert response.status_code == 403
    assert clients["checkout"].post("/settings/recompute/").status_code == 403


def test_role_resolution(org: Org) -> None:
    plain = make_user("nobody")
    assert user_access(plain).role == UserProfile.Role.VIEWER
    assert user_access(plain).people_team_ids == frozenset()
    manager = make_user("mgr", "manager", (org.product,))
    assert user_access(manager).people_team_ids == {org.product.pk, org.checkout.pk, org.search.pk}
    assert user_access(make_user("su", superuser=True)).people_team_ids is None
    # Managers are in the Django group the surveys pages read.
    assert manager.groups.filter(name="manager").exists()
