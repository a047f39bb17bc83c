"""Settings · data sources: add a source (its token encrypted, never shown again), test the connection,
sync now, and follow a sync's progress live (``source_status``, polled by static/web/sextant.js)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from connectors.base import ConnectorError
from metrics.core.crypto import SecretDecryptionError
from metrics.core.models import DataSource
from metrics.ingestion.models import SyncRun
from metrics.ingestion.sync import connector_class, source_sync
from metrics.ingestion.sync_sources import (
    HALTED,
    SourceConfigError,
    source_config,
    source_create,
    source_redact,
    source_secret_set,
    source_target,
)
from metrics.ingestion.tasks import source_sync_enqueue
from metrics.web import display
from metrics.web.access import Role, role_required

logger = logging.getLogger(__name__)
KINDS = (
    ("github", "GitHub"),
    ("gitlab", "GitLab"),
    ("git", "Git repository on this server"),
    ("copilot", "GitHub Copilot usage"),
    ("pagerduty", "PagerDuty incidents"),
    ("opsgenie", "Opsgenie incidents"),
    ("jira", "Jira incidents"),
    ("cursor", "Cursor usage"),
    ("claude_code", "Claude Code usage"),
    ("otlp", "OpenTelemetry receiver"),
)
JIRA_FLAVORS = (("cloud", "Cloud"), ("datacenter", "Data Center / Server"))
TEXT_FIELDS = (
    "org",
    "repos",
    "group",
    "project",
    "path",
    "api_url",
    "production_workflows",
    "incident_label",
    "service_ids",
    "flavor",
    "email",
    "projects",
    "issue_types",
    "priorities",
    "enterprise",
    "since",
    "app_id",
    "installation_id",
)


def run_status(run: SyncRun | None) -> dict[str, Any] | None:
    """What the page shows of a run (no secrets: counts, stage, error text written by the sync)."""
    if run is None:
        return None
    total = run.progress_total or 0
    percent = min(100, round(100 * run.progress_done / total)) if total else None
    counts = {k: v for k, v in (run.counts or {}).items() if k not in ("task_id", "heartbeat")}
    return {
        "id": run.pk,
        "status": run.status,
        "stage": run.stage,
        "done": run.progress_done,
        "total": run.progress_total,
        "percent": percent,
        "counts": counts,
        "error": run.error,
        "started": run.started_at.isoformat() if run.started_at else None,
        "finished": run.finished_at.isoformat() if run.finished_at else None,
        "finished_ago": display.ago(run.finished_at),
    }


def _rows() -> list[dict[str, Any]]:
    rows = []
    for source in DataSource.objects.order_by("name"):
        run = SyncRun.objects.filter(data_source=source).order_by("-started_at", "-id").first()
        rows.append(
            {
                "source": source,
                "target": source_target(source),
                "has_token": bool(source.secret_encrypted),
                "halted": source.checkpoint.get(HALTED, ""),
                "run": run_status(run),
                "last_success_ago": display.ago(source.last_success_at),
            }
        )
    return rows


def _form_options(post: Any) -> dict[str, Any]:
    kind = post.get("kind", "")
    text = {k: post.get(k, "").strip() for k in TEXT_FIELDS}
    if kind == "github":
        return {
            "org": text["org"],
            "repos": [r.strip() for r in text["repos"].split(",") if r.strip()],
            "api_url": text["api_url"],
            "production_workflows": text["production_workflows"],
            "incident_label": text["incident_label"],
            "app_id": text["app_id"],  # a GitHub App (issue 21): its private key is the secret
            "installation_id": text["installation_id"],
        }
    if kind == "gitlab":
        incidents = True if post.get("incidents") == "on" else None
        return {
            "group": text["group"],
            "project": text["project"],
            "api_url": text["api_url"],
            "incidents": incidents,
        }
    if kind == "copilot":
        return {"org": text["org"], "enterprise": text["enterprise"], "api_url": text["api_url"]}
    if kind == "pagerduty":
        return {"api_url": text["api_url"], "service_ids": text["service_ids"]}
    if kind == "opsgenie":
        return {"api_url": text["api_url"], "read": "alerts" if post.get("read_alerts") == "on" else None}
    if kind == "jira":
        keys = ("api_url", "flavor", "email", "projects", "issue_types", "priorities")
        return {key: text[key] for key in keys}
    if kind in ("cursor", "claude_code"):
        return {"since": text["since"], "api_url": text["api_url"]}
    if kind == "otlp":
        return {}
    return {"path": text["path"]}


@role_required(Role.ADMIN)
def sources(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "kinds": KINDS,
        "jira_flavors": JIRA_FLAVORS,
        "values": {},
        "error": "",
        "embedded": _embedded(),
    }
    status = 200
    if request.method == "POST":
        post = request.POST
        try:
            interval = int(post.get("interval") or 60)
            source = source_create(
                kind=post.get("kind", ""),
                name=post.get("name", "").strip(),
                options=_form_options(post),
                secret=_form_secret(post),
                sync_interval_minutes=interval,
            )
        except (SourceConfigError, ValueError) as exc:
            # The token is never echoed back into the form.
            message = (
                str(exc) if isinstance(exc, SourceConfigError) else "the sync interval must be a whole number"
            )
            context.update(
                error=message,
                values={k: v for k, v in post.items() if k not in SECRET_FIELDS},
            )
            status = 400
        else:
            messages.success(request, f"Added {source.name}. Test the connection, then sync it.")
            return _back_to(source)
    context["rows"] = _rows()
    return render(request, "settings/sources.html", context, status=status)


SECRET_FIELDS = ("token", "private_key", "csrfmiddlewaretoken")


def _form_secret(post: Any) -> str:
    """The token, or with a GitHub App id the App's private key (PEM)."""
    if post.get("kind") == "github" and post.get("app_id", "").strip():
        return str(post.get("private_key", "")).strip()
    return str(post.get("token", "")).strip()


def _embedded() -> bool:
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def _back_to(source: DataSource) -> HttpResponse:
    """Back to the sources page, scrolled to this source's card."""
    return redirect(f"{reverse('web:settings_sources')}#source-{source.pk}")


@require_POST
@role_required(Role.ADMIN)
def source_test(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(DataSource, pk=pk)
    try:
        connector = connector_class(source.kind)(source_config(source=source))
        connector.check()
    except (ConnectorError, SecretDecryptionError, SourceConfigError) as exc:
        messages.error(request, f"{source.name}: the connection failed: {source_redact(source, str(exc))}")
    except Exception as exc:  # a broken connector must not take the settings page down
        logger.exception("connection test of source %s failed", source.name)
        messages.error(
            request, f"{source.name}: the connection test failed unexpectedly ({type(exc).__name__})"
        )
    else:
        messages.success(request, f"{source.name}: the connection works.")
    return _back_to(source)


@require_POST
@role_required(Role.ADMIN)
def source_sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the sync (workers), or run it in this request (embedded mode: the page polls its progress)."""
    source = get_object_or_404(DataSource, pk=pk)
    if not _embedded():
        source_sync_enqueue(source_id=source.pk)
        messages.success(request, f"{source.name}: sync queued; progress shows below.")
    else:
        try:
            run = source_sync(source=source)
        except ConnectorError as exc:
            messages.error(request, f"{source.name}: the sync failed: {exc}")
        else:
            done = run.counts.get("records", 0)
            messages.success(request, f"{source.name}: synced ({done} records).")
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"source": source.pk})
    return _back_to(source)


@require_POST
@role_required(Role.ADMIN)
def source_secret(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(DataSource, pk=pk)
    token = request.POST.get("token", "").strip()
    if not token:
        messages.error(request, f"{source.name}: enter the new token.")
    else:
        source_secret_set(source=source, secret=token)
        messages.success(request, f"{source.name}: new token stored (encrypted). Scheduled syncs resume.")
    return _back_to(source)


@require_POST
@role_required(Role.ADMIN)
def source_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(DataSource, pk=pk)
    source.enabled = not source.enabled
    source.save(update_fields=["enabled"])
    messages.success(request, f"{source.name}: scheduled syncs {'on' if source.enabled else 'paused'}.")
    return _back_to(source)


@require_GET
@role_required(Role.ADMIN)
def source_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The source's latest run, for the live progress on the sources page."""
    source = get_object_or_404(DataSource, pk=pk)
    run = SyncRun.objects.filter(data_source=source).order_by("-started_at", "-id").first()
    response = JsonResponse({"source": source.pk, "run": run_status(run)})
    response["Cache-Control"] = "no-store"
    return response
