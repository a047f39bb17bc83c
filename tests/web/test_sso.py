"""Single sign-on without the browser: the group -> role rule, the refusals and their reasons, single
sign-on off, password sign-in off, an unreachable provider.  The whole flow through a real provider is
tests/e2e/test_sso_browser.py."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.test import Client
from jwt.algorithms import RSAAlgorithm

from metrics.core.access import role_for_groups
from metrics.web import sso
from tests.factories import make_team
from tests.fakes.server import FakeApiServer, FakeResponse

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


@pytest.fixture
def signing_provider(settings: Any) -> Iterator[tuple[str, Any]]:
    """A provider's discovery document and JWKS on 127.0.0.1 (OpenID Connect Discovery 1.0 section 3,
    RFC 7517), with the private key to sign ID tokens as that provider would."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "alg": "RS256", "use": "sig"}
    with FakeApiServer() as server:
        document = {
            "issuer": server.url,
            "authorization_endpoint": f"{server.url}/auth",
            "token_endpoint": f"{server.url}/token",
            "userinfo_endpoint": f"{server.url}/me",
            "jwks_uri": f"{server.url}/jwks",
        }
        server.route("GET", r"/\.well-known/openid-configuration")(
            lambda request: FakeResponse(body=document)
        )
        server.route("GET", r"/jwks")(lambda request: FakeResponse(body={"keys": [jwk]}))
        settings.OIDC_ENABLED, settings.OIDC_DISCOVERY_URL = True, server.url
        settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_SIGN_ALGO = "sextant", "RS256"
        sso._discovered.clear()
        yield server.url, key
        sso._discovered.clear()


def _id_token(key: Any, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": "u1", "nonce": "n1", "iat": now, "exp": now + 300, **claims}, key, "RS256", {"kid": "k1"}
    )


@pytest.mark.django_db
def test_id_tokens_of_another_issuer_audience_or_time_are_refused(signing_provider: tuple[str, Any]) -> None:
    issuer, key = signing_provider
    backend = sso.SextantOIDCBackend()
    good = backend.verify_token(_id_token(key, iss=issuer, aud="sextant"), nonce="n1")
    assert (good["iss"], good["aud"]) == (issuer, "sextant")
    assert (
        backend.verify_token(_id_token(key, iss=issuer, aud=["other", "sextant"]), nonce="n1")["sub"] == "u1"
    )
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = {
        "audience": _id_token(key, iss=issuer, aud="another-app"),
        "issuer": _id_token(key, iss="http://127.0.0.1:1", aud="sextant"),
        "expired": _id_token(key, iss=issuer, aud="sextant", exp=int(time.time()) - 60),
        "signature": _id_token(other_key, iss=issuer, aud="sextant"),
    }
    for what, token in bad.items():
        with pytest.raises(SuspiciousOperation):
            backend.verify_token(token, nonce="n1")
            pytest.fail(f"an ID token with the wrong {what} was accepted")
    with pytest.raises(SuspiciousOperation):  # a replayed token: another sign-in's nonce
        backend.verify_token(_id_token(key, iss=issuer, aud="sextant"), nonce="n2")


@pytest.mark.django_db
def test_each_sign_in_sets_the_role_again(settings: Any, rf: Any) -> None:
    """The identity provider is the source of truth: a later sign-in with other groups changes the role."""
    payments = make_team(name="Payments", slug="payments")
    settings.OIDC_ROLE_GROUPS, settings.OIDC_TEAM_GROUPS = ROLE_GROUPS, {"pay": "payments"}
    request = rf.get("/accounts/oidc/callback/")
    request.session = {}
    backend = sso.SextantOIDCBackend()
    backend.request = request
    claims = {"email": "kim@x.io", "preferred_username": "kim", "groups": ["leads", "pay"]}
    assert backend.verify_claims(claims)
    kim = backend.create_user(claims)
    assert (kim.username, kim.sextant_profile.role) == ("kim", "manager")
    assert list(kim.sextant_profile.teams.all()) == [payments]
    assert backend.verify_claims({**claims, "groups": ["eng"]})
    backend.update_user(kim, claims)
    kim.sextant_profile.refresh_from_db()
    assert kim.sextant_profile.role == "viewer" and not kim.sextant_profile.teams.exists()
    assert not backend.verify_claims({**claims, "groups": []})
    assert "none of your groups" in request.session[sso.DENIED_KEY]
