"""Secrets never in access logs (issue 15, finding 9): a token in the query string is refused with a 400
naming the rule, gunicorn (as docker/entrypoint.sh runs it) and runserver log neither query strings nor
the token of a password-reset link."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from tests.fakes.gunicorn import gunicorn

SECRET = "sxt_0badc0de_ThisIsAQueryStringSecret0123456789abcdefghijk"
RESET_TOKEN = "cr1x9k-4f0c2a7e8b9d1e3f5a7c9b1d3e5f7a9c"
URLS = [
    f"/healthz?token={SECRET}",
    f"/api/v1/teams/?format=json&token={SECRET}",
    f"/accounts/reset/MQ/{RESET_TOKEN}/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["token", "access_token", "api_key", "private_token"])
def test_a_token_in_the_query_string_is_refused(client: Client, name: str) -> None:
    response = client.get(f"/api/v1/teams/?{name}={SECRET}")
    assert response.status_code == 400
    text = response.content.decode()
    assert "Authorization header" in text and name in text and SECRET not in text


def _get(url: str) -> None:
    with contextlib.suppress(urllib.error.HTTPError):  # 400/404/503: what matters is the log line
        urllib.request.urlopen(url, timeout=10).read()  # noqa: S310 (a local http:// URL)


def test_gunicorn_access_log_has_no_query_strings_or_reset_tokens(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    env = {
        **os.environ,
        "SEXTANT_VAR_DIR": str(tmp_path / "var"),
        "GUNICORN_WORKERS": "1",
        "DJANGO_SETTINGS_MODULE": "metrics.settings",
        "GUNICORN_THREADS": "1",
    }
    env.pop("DATABASE_URL", None)
    with gunicorn(env, "--access-logfile", str(log), ready_seconds=30) as base:
        for url in URLS:
            _get(f"{base}{url}")
        time.sleep(0.5)
    text = log.read_text()
    assert "/healthz" in text and "/api/v1/teams/" in text and "/accounts/reset/" in text, text
    assert SECRET not in text and RESET_TOKEN not in text, text


def test_runserver_request_log_redacts_query_strings_and_reset_tokens() -> None:
    from django.core.servers.basehttp import WSGIRequestHandler

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("django.server")
    logger.addHandler(handler)
    try:
        for url in URLS:
            fake = WSGIRequestHandler.__new__(WSGIRequestHandler)
            fake.requestline, fake.request_version, fake.command = f"GET {url} HTTP/1.1", "HTTP/1.1", "GET"
            fake.client_address, fake.request = ("127.0.0.1", 1), None
            fake.log_request(200, 10)  # what runserver calls after every response
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "/healthz" in text and "/accounts/reset/" in text, text
    assert SECRET not in text and RESET_TOKEN not in text, text
