"""One throttle for every way in (issue 15, findings 4, 5 and 10): the login page, /admin/login/, HTTP
Basic and bearer tokens on the API, password-reset requests; keyed on the account and the client address,
so an outsider cannot lock someone else out, and behind the proxy on the real client address."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "a-good-password-123"


@pytest.fixture(autouse=True)
def _setup(settings: object) -> None:
    cache.clear()
    get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def login(client: Client, username: str, password: str, url: str = "/accounts/login/", **extra: str) -> int:
    return client.post(url, {"username": username, "password": password}, **extra).status_code


def test_basic_auth_guessing_is_throttled_and_the_right_password_then_fails_too() -> None:
    api = Client(REMOTE_ADDR="198.51.100.20")
    statuses = [
        api.get("/api/v1/teams/", HTTP_AUTHORIZATION=basic("admin", f"guess{i}")).status_code
        for i in range(60)
    ]
    assert statuses[:5] == [403] * 5 and set(statuses[5:]) == {429}
    right = api.get("/api/v1/teams/", HTTP_AUTHORIZATION=basic("admin", PASSWORD))
    assert right.status_code == 429 and "Too many failed sign-in attempts" in right.json()["detail"]
    assert int(right["Retry-After"]) > 0


def test_a_lockout_on_the_login_page_holds_on_the_api_and_the_admin_login() -> None:
    browser = Client(REMOTE_ADDR="198.51.100.21")
    for _ in range(5):
        assert login(browser, "admin", "wrong") == 200
    api = Client(REMOTE_ADDR="198.51.100.21")
    assert api.get("/api/v1/teams/", HTTP_AUTHORIZATION=basic("admin", PASSWORD)).status_code == 429
    assert login(Client(REMOTE_ADDR="198.51.100.21"), "admin", PASSWORD, "/admin/login/") == 429
    assert login(browser, "admin", PASSWORD) == 429


def test_admin_login_guessing_is_throttled() -> None:
    client = Client(REMOTE_ADDR="198.51.100.22")
    for _ in range(5):
        assert login(client, "admin", "wrong", "/admin/login/") == 200
    assert login(client, "admin", PASSWORD, "/admin/login/") == 429


def test_an_outsider_cannot_lock_the_admin_out() -> None:
    outsider = Client(REMOTE_ADDR="203.0.113.66")
    for i in range(5):
        assert login(outsider, f"made-up-{i}", "x") == 200
    for _ in range(5):
        assert login(outsider, "admin", "x") == 200
    assert login(outsider, "admin", PASSWORD) == 429  # the outsider's own address is locked for admin
    assert login(Client(REMOTE_ADDR="192.0.2.7"), "admin", PASSWORD) == 302
    api = Client(REMOTE_ADDR="192.0.2.8")
    assert api.get("/api/v1/teams/", HTTP_AUTHORIZATION=basic("admin", PASSWORD)).status_code == 200


def test_an_address_spraying_many_usernames_is_blocked(settings: object) -> None:
    sprayer = Client(REMOTE_ADDR="203.0.113.67")
    for i in range(settings.LOGIN_MAX_FAILURES_PER_ADDRESS):  # type: ignore[attr-defined]
        assert login(sprayer, f"user-{i}", "x") == 200
    assert login(sprayer, "admin", PASSWORD) == 429
    assert login(Client(REMOTE_ADDR="192.0.2.9"), "admin", PASSWORD) == 302


def test_behind_the_proxy_the_forwarded_client_address_is_used(settings: object) -> None:
    settings.BEHIND_PROXY = True  # type: ignore[attr-defined]
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for i in range(settings.LOGIN_MAX_FAILURES_PER_ADDRESS):  # type: ignore[attr-defined]
        # A forged left-hand entry changes nothing: the proxy appends the address it saw.
        forged = f"192.0.2.{i}, 203.0.113.68"
        assert login(proxy, f"user-{i}", "x", HTTP_X_FORWARDED_FOR=forged) == 200
    assert login(proxy, "admin", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.68") == 429
    assert login(proxy, "admin", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.50") == 302


def test_bearer_token_guessing_is_throttled_per_address(settings: object) -> None:
    api = Client(REMOTE_ADDR="198.51.100.23")
    limit = settings.LOGIN_MAX_FAILURES_PER_ADDRESS  # type: ignore[attr-defined]
    for i in range(limit):
        bad = api.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer sxt_0000000{i % 10}_nope")
        assert bad.status_code == 403
    assert api.get("/api/v1/teams/", HTTP_AUTHORIZATION="Bearer sxt_00000000_nope").status_code == 429
    other = Client(REMOTE_ADDR="198.51.100.24")
    assert other.get("/api/v1/teams/", HTTP_AUTHORIZATION="Bearer sxt_00000000_nope").status_code == 403


def test_password_reset_is_off_without_a_mail_server(client: Client, settings: object) -> None:
    settings.PASSWORD_RESET_ENABLED = False  # type: ignore[attr-defined]
    response = client.get("/accounts/password_reset/")
    assert response.status_code == 404 and b"no mail server is configured" in response.content
    assert client.post("/accounts/password_reset/", {"email": "admin@example.com"}).status_code == 404
    assert not mail.outbox


def test_password_reset_requests_are_throttled_per_account_and_address(settings: object) -> None:
    settings.PASSWORD_RESET_ENABLED = True  # type: ignore[attr-defined]
    client = Client(REMOTE_ADDR="198.51.100.25")
    statuses = [
        client.post("/accounts/password_reset/", {"email": "admin@example.com"}).status_code
        for _ in range(10)
    ]
    assert statuses[:3] == [302] * 3 and set(statuses[3:]) == {429}
    assert len(mail.outbox) == 3
    # Per address too: other accounts (real or not) from the same address.
    sprayer = Client(REMOTE_ADDR="198.51.100.26")
    sprayed = [
        sprayer.post("/accounts/password_reset/", {"email": f"u{i}@example.com"}).status_code
        for i in range(12)
    ]
    assert sprayed.count(302) == settings.PASSWORD_RESET_MAX_PER_ADDRESS  # type: ignore[attr-defined]
    assert sprayed[-1] == 429
