"""The report archive (every run with its status, the PDF to download) and the schedule pages."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from metrics.core import access
from metrics.reports.forms import ReportScheduleForm
from metrics.reports.models import ReportRun, ReportSchedule
from metrics.reports.services import ReportError, report_preview, report_send_now, reports_dir
from metrics.reports.tasks import report_deliver_enqueue

ARCHIVE_LIMIT = 200


def can_read_reports(user: AbstractBaseUser | AnonymousUser) -> bool:
    return access.for_user(user).reads_reports


def can_edit_schedules(user: AbstractBaseUser | AnonymousUser) -> bool:
    return access.for_user(user).edits_report_schedules


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("Reports are for managers and administrators.")


@login_required
@require_safe
def archive(request: HttpRequest) -> HttpResponse:
    _require(can_read_reports(request.user))
    runs = (
        ReportRun.objects.select_related("schedule")
        .prefetch_related("chat_deliveries")
        .defer("html", "summary")
        .order_by("-created_at", "-id")
    )
    return render(
        request,
        "reports/archive.html",
        {
            "runs": runs[:ARCHIVE_LIMIT],
            "schedules": ReportSchedule.objects.prefetch_related("teams"),
            "can_edit": can_edit_schedules(request.user),
            "can_send": access.for_user(request.user).sends_reports,
            "limit": ARCHIVE_LIMIT,
        },
    )


@login_required
@require_safe
def run_pdf(request: HttpRequest, pk: int) -> FileResponse:
    _require(can_read_reports(request.user))
    run = get_object_or_404(ReportRun.objects.select_related("schedule").defer("html"), pk=pk)
    root = reports_dir().resolve()
    path = (root / run.pdf_path).resolve() if run.pdf_path else None
    if path is None or root not in path.parents or not path.is_file():
        raise Http404("This run has no PDF (it failed before rendering, or the file was removed).")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=Path(run.pdf_path).name, content_type="application/pdf"
    )


# The archived and previewed report needs nothing from anywhere: forbid scripts and remote loads outright.
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@login_required
@require_safe
def run_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The archived report as it was rendered (self-contained: charts are embedded)."""
    _require(can_read_reports(request.user))
    run = get_object_or_404(ReportRun, pk=pk)
    if not run.html:
        raise Http404("This run has no rendered report.")
    return _report_page(run.html)


@login_required
@require_safe
def schedule_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The report the schedule would send now, rendered on the spot (nothing stored, nothing sent)."""
    _require(access.for_user(request.user).sends_reports)
    _, html = report_preview(schedule=get_object_or_404(ReportSchedule, pk=pk))
    return _report_page(html)


def _report_page(html: str) -> HttpResponse:
    """A rendered report, under the report's own CSP (no scripts; its charts are embedded images)."""
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = REPORT_CSP
    return response


@login_required
@require_POST
def schedule_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the schedule's latest complete period now, to its audience (admins and managers)."""
    _require(access.for_user(request.user).sends_reports)
    schedule = get_object_or_404(ReportSchedule, pk=pk)
    try:
        run = report_send_now(schedule=schedule)
    except ReportError as exc:
        messages.error(request, f"“{schedule.name}”: {exc}.")
        return redirect("reports:archive")
    report_deliver_enqueue(run_id=run.pk)
    count = len(schedule.recipients)
    messages.success(
        request,
        f"“{schedule.name}”, {run.period_start:%-d %b %Y} to {run.period_end:%-d %b %Y}: "
        f"sending to {count} recipient{'s' if count != 1 else ''}; its status is below.",
    )
    return redirect("reports:archive")


@login_required
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require(can_edit_schedules(request.user))
    schedule = get_object_or_404(ReportSchedule, pk=pk) if pk is not None else None
    form = ReportScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("reports:archive")
    return render(
        request,
        "reports/schedule_form.html",
        {"form": form, "schedule": schedule},
        status=400 if form.errors else 200,
    )
