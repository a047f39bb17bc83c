"""Planted secrets go everywhere a secret goes, and none comes back out (issue 7).

The session-wide detector is ``tests/secret_canary.py``: it records every log line, response, request
exception, command output and subprocess output of the whole run and fails the run when a tracked secret
appears in one.  Here (a) the planted token and secret are used as a GitHub/GitLab token (settings page,
Django admin, ``add_source``), webhook secret and SMTP password; syncs run against the fake hosts with a
WRONG token so the failures are recorded and shown; then every page, API answer, export and error page
that could show them is fetched, and the stored errors and audit entries are checked.  (b) proves the
detector reports a planted secret in each channel it watches (then drops those entries again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import path

from metrics.api.tokens import api_token_create
from metrics.core.models import AuditLog, DataSource
from metrics.ingestion.models import SyncRun
from metrics.reports.models import ReportRun
from metrics.reports.periods import period_containing
from metrics.reports.services import report_run_for
from metrics.reports.tasks import report_deliver_task
from tests.fakes.github import FakeGitHub
from tests.fakes.github_data import populate
from tests.fakes.gitlab import acme, fast
from tests.fakes.server import FakeApiServer
from tests.reports.conftest import Mailbox, free_port, make_schedule
from tests.secret_canary import COLLECTOR, PLANTED_SECRET, PLANTED_TOKEN, Leak

PLANTED = (PLANTED_TOKEN, PLANTED_SECRET)
OCTOBER = period_containing("monthly", dt.date(2026, 10, 1))


def leaks_report(leaks: list[Leak]) -> str:
    return "\n".join(f"{leak.kind} {leak.where}: {leak.excerpt}" for leak in leaks)


def never_stored_in_clear() -> None:
    """Errors and audit entries as stored (the pages and the API show them)."""
    stored = json.dumps(
        [
            list(SyncRun.objects.values_list("error", flat=True)),
            list(DataSource.objects.values_list("last_error", "options", "checkpoint")),
            list(AuditLog.objects.values_list("object_repr", "changes")),
            list(ReportRun.objects.values_list("error", flat=True)),
        ],
        default=str,
    )
    for secret in PLANTED:
        assert secret not in stored


@pytest.fixture
def gitlab() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        yield fast(server)


@pytest.fixture
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port)  # offers no AUTH
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def admin_source_form(name: str, kind: str, options: dict[str, Any], **fields: str) -> dict[str, str]:
    return {
        "name": name,
        "kind": kind,
        "options": json.dumps(options),
        "enabled": "on",
        "sync_interval_minutes": "60",
        **fields,
    }


@pytest.mark.django_db
def test_planted_secrets_never_reach_logs_errors_api_or_pages(
    admin_client: Client,
    settings: Any,
    gitlab: FakeApiServer,
    smtp_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings.VAR_DIR = tmp_path / "var"
    with FakeGitHub() as gh:  # accepts only "test-token": every planted token is a wrong one
        populate(gh, "acme/api", prs=3)

        # GitHub source through the settings page, with the planted token; a bad form first (400).
        form = {
            "kind": "github",
            "name": "canary-gh",
            "org": "acme",
            "api_url": gh.url,
            "token": PLANTED_TOKEN,
        }
        bad = admin_client.post("/settings/sources/", {**form, "interval": "often"})
        assert bad.status_code == 400
        assert admin_client.post("/settings/sources/", {**form, "interval": "30"}).status_code == 302
        source = DataSource.objects.get(name="canary-gh")
        tested = admin_client.post(f"/settings/sources/{source.pk}/test/", follow=True).content.decode()
        assert "canary-gh: the connection failed" in tested
        synced = admin_client.post(f"/settings/sources/{source.pk}/sync/", follow=True).content.decode()
        assert "canary-gh: the sync failed" in synced
        # A new (still wrong) token, shapeless this time: log redaction cannot recognise it.
        admin_client.post(f"/settings/sources/{source.pk}/token/", {"token": PLANTED_SECRET})
        admin_client.post(f"/settings/sources/{source.pk}/sync/", HTTP_ACCEPT="application/json")
        runs = SyncRun.objects.filter(data_source=source)
        assert runs.count() == 2 and {r.status for r in runs} == {SyncRun.Status.FAILED}
        assert "401" in runs.first().error or "credentials" in runs.first().error.lower()

        # Webhook secret through the admin change form; deliveries with a bad and a good signature.
        change = admin_source_form(
            "canary-gh", "github", {"org": "acme", "api_url": gh.url}, new_webhook_secret=PLANTED_SECRET
        )
        assert admin_client.post(f"/admin/core/datasource/{source.pk}/change/", change).status_code == 302
        body = json.dumps({"action": "opened", "number": 1, "repository": {"full_name": "acme/api"}}).encode()
        webhook = Client()
        headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "canary-1"}
        refused = webhook.post(
            "/webhooks/github",
            body,
            content_type="application/json",
            headers={**headers, "X-Hub-Signature-256": sign(body, "not-the-secret")},
        )
        assert refused.status_code == 401
        with django_capture_on_commit_callbacks(execute=True):
            accepted = webhook.post(
                "/webhooks/github",
                body,
                content_type="application/json",
                headers={**headers, "X-Hub-Signature-256": sign(body, PLANTED_SECRET)},
            )
        assert accepted.status_code in (200, 202)

        # The command line: add_source reads the token from the environment; sync fails with it.
        monkeypatch.setenv("CANARY_TOKEN", PLANTED_TOKEN)
        out = StringIO()
        call_command(
            "add_source", "github", "canary-cli", "--org", "acme", "--api-url", gh.url,
            "--token-env", "CANARY_TOKEN", "--webhook-secret-env", "CANARY_TOKEN", stdout=out,
        )  # fmt: skip
        with pytest.raises(CommandError):
            call_command("sync", "canary-cli", stdout=out, stderr=out)
        call_command("list_sources", stdout=out)
        assert "canary-cli" in out.getvalue()

    # GitLab source through the Django admin: the right token first (it syncs), then a wrong one.
    fake = acme(gitlab)
    fake.token = PLANTED_SECRET
    options = {"group": "acme", "api_url": fake.url}
    added = admin_client.post(
        "/admin/core/datasource/add/",
        admin_source_form(
            "canary-gl", "gitlab", options, new_secret=PLANTED_SECRET, new_webhook_secret=PLANTED_TOKEN
        ),
    )
    assert added.status_code == 302, added.content.decode()[-2000:]
    lab = DataSource.objects.get(name="canary-gl")
    invalid = admin_source_form(
        "", "gitlab", options, new_secret=PLANTED_SECRET, new_webhook_secret=PLANTED_TOKEN
    )
    assert admin_client.post("/admin/core/datasource/add/", invalid).status_code == 200  # the form again
    admin_client.post(f"/settings/sources/{lab.pk}/sync/")
    assert SyncRun.objects.filter(data_source=lab).latest("id").status == SyncRun.Status.SUCCEEDED
    change = admin_source_form("canary-gl", "gitlab", options, new_secret=PLANTED_TOKEN)
    assert admin_client.post(f"/admin/core/datasource/{lab.pk}/change/", change).status_code == 302
    admin_client.post(f"/settings/sources/{lab.pk}/test/")
    admin_client.post(f"/settings/sources/{lab.pk}/sync/")
    assert SyncRun.objects.filter(data_source=lab).latest("id").status == SyncRun.Status.FAILED
    hook = {"X-Gitlab-Event": "Merge Request Hook"}
    gl_body = json.dumps({"object_kind": "merge_request", "project": {"path_with_namespace": "acme/api"}})
    for token, status in (("not-the-secret", 401), (PLANTED_TOKEN, None)):
        answer = Client().post(
            "/webhooks/gitlab",
            gl_body,
            content_type="application/json",
            headers={**hook, "X-Gitlab-Token": token},
        )
        assert answer.status_code == status if status else answer.status_code < 300

    # The SMTP password: the server offers no AUTH, so the delivery fails and records why.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "reports", PLANTED_SECRET
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    COLLECTOR.track(PLANTED_SECRET, "EMAIL_HOST_PASSWORD")
    run, _ = report_run_for(schedule=make_schedule(), period=OCTOBER)
    result = report_deliver_task.delay(run.pk).get()
    assert result["status"] in ("queued", "failed") and result["error"]

    # Everything that shows sources, runs, errors, settings and exports.
    _token, raw = api_token_create(name="canary export", role="admin")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for url in ("/api/v1/sync-runs/", "/api/v1/sync-runs/?format=csv", "/api/v1/schema/"):
        answer = api.get(url)
        assert answer.status_code == 200, url
        if answer.streaming:  # the CSV export streams; the canary reads what is read
            assert b"rejected" in b"".join(answer.streaming_content)
    pages = [
        "/settings/sources/",
        f"/settings/sources/{source.pk}/status/",
        f"/settings/sources/{lab.pk}/status/",
        "/healthz",
        "/",
        "/prs/",
        "/reports/",
        "/admin/core/datasource/",
        f"/admin/core/datasource/{source.pk}/change/",
        f"/admin/core/datasource/{lab.pk}/change/",
        "/admin/reports/reportrun/",
        f"/admin/reports/reportrun/{run.pk}/change/",
        "/admin/api/apitoken/",
    ]
    for url in pages:
        assert admin_client.get(url).status_code == 200, url
    # Error pages: unknown source, wrong method, a token-looking path.
    assert admin_client.get("/settings/sources/987654/status/").status_code == 404
    assert admin_client.get(f"/settings/sources/{source.pk}/sync/").status_code == 405
    assert admin_client.get("/webhooks/github").status_code == 405
    assert Client().get("/settings/sources/").status_code == 302

    never_stored_in_clear()
    leaks = COLLECTOR.pending_leaks()
    assert not leaks, "secrets leaked:\n" + leaks_report(leaks)
    assert len(COLLECTOR.pending) > 40  # it did watch all of this


# ---------------------------------------------------------------- (b) the detector itself
def echo_view(request: Any) -> Any:
    from django.http import HttpResponse, StreamingHttpResponse

    if request.GET.get("stream"):
        return StreamingHttpResponse(iter([b"part one, ", f"then {PLANTED_TOKEN}".encode()]))
    response = HttpResponse("nothing in the body")
    response["X-Debug"] = f"token={PLANTED_SECRET}"
    return response


def failing_view(request: Any) -> Any:
    raise RuntimeError(f"cannot use {PLANTED_SECRET}")


urlpatterns = [path("echo", echo_view), path("fail", failing_view)]


@pytest.fixture
def self_test() -> Iterator[None]:
    """The planted entries this test makes are dropped again, whatever happens, so the session passes."""
    try:
        yield
    finally:
        for secret in PLANTED:
            COLLECTOR.forget(secret)


def reported(kind: str) -> list[Leak]:
    return [leak for leak in COLLECTOR.pending_leaks() if leak.kind == kind]


@pytest.mark.django_db
def test_the_detector_reports_a_planted_secret_in_every_channel(
    self_test: None, settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert COLLECTOR.installed, "tests/secret_canary.py is not active (pytest_plugins in tests/conftest.py)"
    assert COLLECTOR.pending_leaks() == []

    # A log line: the shapeless secret passes the project's redaction, the token-shaped one does not.
    caplog.set_level(logging.INFO)
    logging.getLogger("metrics.canary").warning("sync failed for %s and %s", PLANTED_SECRET, PLANTED_TOKEN)
    logs = reported("log")
    assert [COLLECTOR.secrets[leak.secret] for leak in logs] == [PLANTED_SECRET]
    assert "metrics.canary WARNING" in logs[0].where and PLANTED_SECRET not in logs[0].excerpt
    assert "[redacted]" in logs[0].excerpt and "<secret #" in logs[0].excerpt

    # Responses: a header, a streamed body (teed as it is read), an exception of a request.
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    assert client.get("/echo")["X-Debug"].endswith(PLANTED_SECRET)
    streamed = client.get("/echo?stream=1")
    assert PLANTED_TOKEN.encode() in b"".join(streamed.streaming_content)
    assert client.get("/fail").status_code == 500
    wheres = {leak.where for leak in reported("response")}
    assert wheres == {"GET /echo -> 200", "GET /echo?stream=1 -> 200"}
    assert [leak.where for leak in reported("exception")] == ["request /fail"]

    # A subprocess' captured output, a log file a subprocess wrote, a secret tracked from crypto.encrypt.
    done = subprocess.run(
        [sys.executable, "-c", f"print('worker started with {PLANTED_SECRET}')"],
        capture_output=True,
        check=True,
    )
    assert done.stdout
    assert [leak.kind for leak in reported("subprocess")] == ["subprocess"]
    (tmp_path / "worker.log").write_text(f"[INFO] connecting with {PLANTED_TOKEN}\n", encoding="utf-8")
    COLLECTOR.scan_log_files(tmp_path)
    assert [Path(leak.where).name for leak in reported("logfile")] == ["worker.log"]

    from metrics.core import crypto

    fresh = f"tracked-{tmp_path.name}-plaintext"
    settings.SEXTANT_ENCRYPTION_KEYS = Fernet.generate_key().decode()
    crypto.encrypt(fresh)
    assert fresh in COLLECTOR.secrets
    logging.getLogger("metrics.canary").error("stored %s", fresh)
    assert any(COLLECTOR.secrets[leak.secret] == fresh for leak in reported("log"))
    COLLECTOR.forget(fresh)
    crypto.encrypt("a new token")  # plain words: the product's own messages say "save a new token"
    assert "a new token" not in COLLECTOR.secrets

    # Cleaned up: nothing of this test is left to fail the session.
    for secret in PLANTED:
        COLLECTOR.forget(secret)
    assert COLLECTOR.pending_leaks() == []
