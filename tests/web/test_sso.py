"""Single sign-on without the browser: the group -> role rule, the refusals and their reasons, single
sign-on off, password sign-in off, an unreachable provider.  The whole flow through a real provider is
tests/e2e/test_sso_browser.py."""

from __future__ import annotations

import base64
import socket
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from metrics.core.access import role_for_groups
from metrics.web import sso
from tests.factories import make_team

ROLE_GROUPS = {"admin": ["ops"], "manager": ["leads"], "executive": ["board"], "viewer": ["eng", "ops"]}


def test_the_highest_mapped_role_wins_and_no_mapped_group_is_none() -> None:
    assert role_for_groups(["eng"], ROLE_GROUPS) == "viewer"
    assert role_for_groups(["eng", "board", "leads"], ROLE_GROUPS) == "manager"
    assert role_for_groups(["ops"], ROLE_GROUPS) == "admin"  # in two roles' lists: the higher
    assert role_for_groups(["marketing"], ROLE_GROUPS) is None
    assert role_for_groups([], ROLE_GROUPS) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"groups": ["eng"]}, "sent no e-mail address"),
        ({"email": "a@x.io", "email_verified": False, "groups": ["eng"]}, "not verified"),
        ({"email": "a@x.io", "groups": ["marketing"]}, "none of your groups"),
        ({"email": "a@x.io", "groups": ["leads"]}, "none of them is mapped to a team"),
        ({"email": "a@x.io", "groups": ["leads", "pay"]}, "none of them is mapped to a team"),  # unknown team
    ],
)
def test_refusals_say_why(settings: Any, claims: dict[str, Any], reason: str) -> None:
    settings.OIDC_ROLE_GROUPS, settings.OIDC_TEAM_GROUPS = ROLE_GROUPS, {"pay": "no-such-team"}
    with pytest.raises(PermissionError, match=reason):
        sso.grant(claims)


@pytest.mark.django_db
def test_a_manager_gets_the_teams_of_their_groups_and_nested_claims_work(settings: Any) -> None:
    payments, platform = (
        make_team(name="Payments", slug="payments"),
        make_team(name="Platform", slug="platform"),
    )
    settings.OIDC_ROLE_GROUPS = ROLE_GROUPS
    settings.OIDC_TEAM_GROUPS = {"pay": "payments", "plat": "platform"}
    settings.OIDC_GROUPS_CLAIM = "realm_access.roles"
    role, teams = sso.grant({"email": "m@x.io", "realm_access": {"roles": ["leads", "pay", "eng"]}})
    assert (role, teams) == ("manager", [payments])
    assert platform not in teams


@pytest.mark.django_db
def test_single_sign_on_off_by_default(client: Client) -> None:
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b"sso-button" not in page.content and b"id_password" in page.content
    for url in (
        "/accounts/oidc/authenticate/",
        "/accounts/oidc/callback/?code=x&state=y",
        "/accounts/sso/denied/",
    ):
        assert client.get(url).status_code == 404, url


@pytest.fixture
def sso_only(settings: Any) -> None:
    """OIDC on and LOCAL_LOGIN_ENABLED=false, as settings.py makes them from the environment."""
    settings.OIDC_ENABLED, settings.OIDC_DISCOVERY_URL = True, "http://127.0.0.1:9/"
    settings.LOCAL_LOGIN_ENABLED = False
    settings.AUTHENTICATION_BACKENDS = ["metrics.web.sso.SextantOIDCBackend"]
    settings.PASSWORD_RESET_ENABLED = False
    sso._discovered.clear()


@pytest.mark.django_db
def test_password_sign_in_turned_off_everywhere(client: Client, sso_only: None) -> None:
    get_user_model().objects.create_superuser("root", "root@x.io", "a-long-password-1")
    page = client.get("/accounts/login/")
    assert b"sso-button" in page.content and b"id_password" not in page.content
    refused = client.post("/accounts/login/", {"username": "root", "password": "a-long-password-1"})
    assert refused.status_code == 403 and b"password sign-in is turned off" in refused.content
    assert "_auth_user_id" not in client.session
    basic = base64.b64encode(b"root:a-long-password-1").decode()
    assert client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Basic {basic}").status_code in (401, 403)


@pytest.mark.django_db
def test_an_unreachable_provider_is_a_clear_page(client: Client, sso_only: None, settings: Any) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OIDC_DISCOVERY_URL = f"http://127.0.0.1:{port}"
    page = client.get("/accounts/oidc/authenticate/")
    assert page.status_code == 503
    assert b"the identity provider cannot be reached" in page.content
