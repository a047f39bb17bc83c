"""Settings · Delivery: which repository each incident-tool service belongs to (the incident -> deployment
link needs a repository), and whether the deployment and incident webhooks have a secret."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from metrics.core.models import Organization
from metrics.ingestion.delivery import incident_services_set, incident_services_text
from metrics.ingestion.delivery_webhooks import SECRET_SETTING
from metrics.ingestion.recompute import recompute_request
from metrics.web.access import Role, role_required


@role_required(Role.ADMIN)
def delivery_settings(request: HttpRequest) -> HttpResponse:
    error = ""
    text = incident_services_text()
    if request.method == "POST":
        text = request.POST.get("services", "")
        try:
            relinked = incident_services_set(text)
        except ValueError as exc:
            error = str(exc)
        else:
            outcome = recompute_request(reason="settings: incident services")
            messages.success(request, f"Saved; {relinked} incidents re-linked; {outcome}.")
            return redirect("web:settings_delivery")
    org = Organization.objects.order_by("pk").first()
    context = {
        "services": text,
        "error": error,
        "secret_set": bool(org and (org.settings or {}).get(SECRET_SETTING)),
    }
    return render(request, "settings/delivery.html", context, status=400 if error else 200)
