"""Single sign-on end to end in the browser: Chromium signs in through a real OpenID Connect provider
(panva's certified ``oidc-provider`` on Node.js, tests/oidc_provider/provider.mjs, on 127.0.0.1 with an
OS-chosen port) to the live Sextant server, and lands with the role its groups map to; a user without a
mapped group gets a page saying so, no account and no session.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from metrics.core import access as core_access
from metrics.core.models import Team
from metrics.web import sso

pytestmark = pytest.mark.django_db(transaction=True)
PROVIDER = Path(__file__).resolve().parents[1] / "oidc_provider"
SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens" / "i21a"
ACCOUNTS = {
    "grace": {
        "preferred_username": "grace",
        "email": "grace@example.com",
        "email_verified": True,
        "given_name": "Grace",
        "groups": ["sextant-admins"],
    },
    "mo": {"email": "mo@example.com", "email_verified": True, "groups": ["eng-leads", "payments-engineers"]},
    "eve": {"email": "eve@example.com", "email_verified": True, "groups": ["marketing"]},
}


@pytest.fixture
def team(transactional_db: None) -> Team:
    call_command("load_demo", "--small", verbosity=0)
    found = Team.objects.filter(parent__isnull=False).order_by("slug").first()
    assert found is not None
    return found


@pytest.fixture
def provider(live_server: Any, settings: Any, team: Team) -> Iterator[str]:
    """The provider process, and Sextant's settings pointing at it (as the OIDC_* variables would)."""
    node = shutil.which("node")
    if node is None or not (PROVIDER / "node_modules" / "oidc-provider").exists():
        pytest.fail("the test OIDC provider is not installed: run bash tools/test_prereqs.sh")
    secret = secrets.token_urlsafe(24)
    config = {
        "client_id": "sextant-e2e",
        "client_secret": secret,
        "redirect_uris": [f"{live_server.url}/accounts/oidc/callback/"],
        "accounts": ACCOUNTS,
    }
    process = subprocess.Popen(
        [node, "provider.mjs"],
        cwd=PROVIDER,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(config))
        process.stdin.close()
        issuer = json.loads(process.stdout.readline())["issuer"]
        settings.OIDC_ENABLED = True
        settings.OIDC_DISCOVERY_URL = issuer
        settings.OIDC_PROVIDER_NAME = "Acme ID"
        settings.OIDC_RP_CLIENT_ID = "sextant-e2e"
        settings.OIDC_RP_CLIENT_SECRET = secret
        settings.OIDC_RP_SCOPES = "openid email profile groups"
        settings.OIDC_ROLE_GROUPS = {"admin": ["sextant-admins"], "manager": ["eng-leads"], "viewer": ["eng"]}
        settings.OIDC_TEAM_GROUPS = {"payments-engineers": team.slug}
        settings.AUTHENTICATION_BACKENDS = [
            *settings.AUTHENTICATION_BACKENDS,
            "metrics.web.sso.SextantOIDCBackend",
        ]
        sso._discovered.clear()
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)
        sso._discovered.clear()


def sign_in(page: Page, base: str, login: str) -> None:
    """From a Sextant page through the provider's own sign-in and consent pages back to Sextant."""
    page.goto(f"{base}/prs/")
    expect(page.locator("h1")).to_have_text("Log in")
    page.click("text=Sign in with Acme ID")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")  # the provider's development sign-in page takes any password
    page.click("button.login-submit")
    page.click("button:has-text('Continue')")  # consent


def test_sso_admin_and_manager_land_with_their_mapped_role(
    live_server: Any, browser: Browser, provider: str, team: Team
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(f"{live_server.url}/accounts/login/")
        expect(page.locator("a.sso-button")).to_have_text("Sign in with Acme ID")
        page.screenshot(path=SCREENS / f"sso-login-{width}.png", full_page=True)
        page.close()

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server.url, "grace")
    expect(page).to_have_url(f"{live_server.url}/prs/")  # back where the user started
    expect(page.locator(".who")).to_have_text("grace")
    expect(page.locator("nav.main-nav a", has_text="Settings")).to_be_visible()
    grace = get_user_model().objects.get(username="grace")
    assert (grace.email, grace.first_name, grace.has_usable_password()) == (
        "grace@example.com",
        "Grace",
        False,
    )
    assert core_access.for_user(grace).role == "admin" and grace.sextant_profile.role == "admin"

    page = browser.new_context(viewport={"width": 390, "height": 900}).new_page()
    sign_in(page, live_server.url, "mo")
    expect(page.locator(".who")).to_have_text("mo@example.com")
    expect(page.locator("nav.main-nav a", has_text="Settings")).to_have_count(0)
    page.screenshot(path=SCREENS / "sso-manager-prs-390.png", full_page=True)
    mo = get_user_model().objects.get(username="mo@example.com")
    access = core_access.for_user(mo)
    assert access.role == "manager" and team.id in (access.people_team_ids or ())
    assert list(mo.sextant_profile.teams.values_list("slug", flat=True)) == [team.slug]


def test_sso_user_without_a_mapped_group_gets_no_access(
    live_server: Any, browser: Browser, provider: str
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    users_before = get_user_model().objects.count()
    for width in (1280, 390):
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        sign_in(page, live_server.url, "eve")
        expect(page).to_have_url(f"{live_server.url}/accounts/sso/denied/")
        expect(page.locator("h1")).to_have_text("No access to Sextant")
        expect(page.locator("[role=alert]")).to_contain_text(
            "none of your groups at the identity provider is given a Sextant role"
        )
        page.screenshot(path=SCREENS / f"sso-denied-{width}.png", full_page=True)
        page.goto(f"{live_server.url}/prs/")
        expect(page.locator("h1")).to_have_text("Log in")  # no session
        page.context.close()
    assert get_user_model().objects.count() == users_before
    assert not get_user_model().objects.filter(email="eve@example.com").exists()


def test_sso_only_when_password_sign_in_is_off(
    live_server: Any, browser: Browser, provider: str, settings: Any
) -> None:
    settings.LOCAL_LOGIN_ENABLED = False
    settings.AUTHENTICATION_BACKENDS = ["metrics.web.sso.SextantOIDCBackend"]
    SCREENS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        expect(page.locator("a.sso-button")).to_be_visible()
        expect(page.locator("input[type=password]")).to_have_count(0)
        page.screenshot(path=SCREENS / f"sso-only-login-{width}.png", full_page=True)
        page.context.close()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server.url, "grace")
    expect(page.locator(".who")).to_have_text("grace")
