"""/healthz is a real check (issue 15, findings 17 and 18): exempt from the HTTPS redirect, 503 when the
database or the cache is down, no data-source names for anonymous callers; the Docker health check
counts a redirect as a failure."""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from metrics.core.models import DataSource

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_healthz_answers_over_plain_http_with_https_settings(settings: object) -> None:
    settings.SECURE_SSL_REDIRECT = True  # type: ignore[attr-defined]
    client = Client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert client.get("/accounts/login/").status_code == 301  # everything else still goes to https


def test_healthz_names_no_data_source_to_anonymous_callers(client: Client, admin_client: Client) -> None:
    DataSource.objects.create(name="secret-source-name", kind="github", last_error="boom")
    for url in ("/healthz", "/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"):
        assert b"secret-source-name" not in client.get(url).content, url
    body = client.get("/healthz").json()
    assert body["sources"] == {"total": 1, "failing": 1}
    assert [s["name"] for s in admin_client.get("/healthz").json()["sources"]] == ["secret-source-name"]


def _healthz_in_a_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client(HTTP_HOST='127.0.0.1:8000').get('/healthz')\n"
        "print(r.status_code, r.content.decode())\n"
    )
    full = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "metrics.settings",
        "SEXTANT_VAR_DIR": str(tmp_path),
        "HTTPS": "true",
        "ALLOWED_HOSTS": "sextant.example.com",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    out = _healthz_in_a_process(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:1/none").stdout
    assert out.startswith("503 ") and '"database": {"ok": false' in out, out


def test_healthz_is_503_when_the_cache_is_unreachable(tmp_path: Path) -> None:
    env = {"CACHE_URL": "redis://127.0.0.1:1/0"}
    if "DATABASE_URL" not in os.environ:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    out = _healthz_in_a_process(tmp_path, **env).stdout
    assert out.startswith("503 ") and '"cache": {"ok": false' in out, out


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        if self.server.status == 301:  # type: ignore[attr-defined]
            self.send_header("Location", "https://127.0.0.1/healthz")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (301, False), (503, False)])
def test_docker_health_check_fails_on_a_redirect(
    answering: http.server.HTTPServer, status: int, healthy: bool
) -> None:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    command = re.search(r"HEALTHCHECK [^\n]*\\\n\s*CMD (.+)", text).group(1)  # type: ignore[union-attr]
    answering.status = status  # type: ignore[attr-defined]
    command = command.replace("127.0.0.1:8000", f"127.0.0.1:{answering.server_port}")
    result = subprocess.run(["sh", "-c", command], capture_output=True, timeout=30)
    assert (result.returncode == 0) is healthy, (status, result)
