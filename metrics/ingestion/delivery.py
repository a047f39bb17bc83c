"""Incidents: idempotent upserts on (source, external_id), and their link to the causing deployment.

The link rule is ``analytics/delivery.py: link_incidents``; this module feeds it the stored rows and
writes what it decides (``Incident.deployment`` and ``Incident.link``).  An incident names its repository
directly, or through its service: the organization setting ``incident_services`` maps a service name of
the incident tool to a repository (``{"checkout-api": "acme/checkout"}``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import pandas as pd
from django.db import transaction
from django.db.models import Q

from connectors.records import IncidentRecord
from metrics.analytics.delivery import SplitRow, link_incidents
from metrics.core.models import Organization, Repository, organization_settings_update
from metrics.ingestion.bulk import upsert
from metrics.ingestion.models import DeliverySplit, Deployment, Incident

SERVICES_SETTING = "incident_services"
REPOSITORY = re.compile(r"[\w.-]+(/[\w.-]+)+")
INCIDENT_FIELDS = (
    "title",
    "severity",
    "service",
    "repository",
    "started_at",
    "resolved_at",
    "deployment_ref",
    "sha",
    "url",
    "updated_at",
)
CHUNK = 500


def service_map() -> dict[str, str]:
    """Incident tool service -> repository full name (the organization's ``incident_services``)."""
    org = Organization.objects.order_by("pk").first()
    found = (org.settings if org else {}).get(SERVICES_SETTING) or {}
    return {str(k).strip().lower(): str(v).strip() for k, v in found.items() if str(v).strip()}


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def incidents_upsert(*, records: list[IncidentRecord], repository: Callable[[str], Repository]) -> list[int]:
    """Upsert incidents on (source, external_id) (a later record of the same incident wins); returns the
    stored ids.  ``repository`` turns a full name into a stored repository (the caller's, so one batch
    creates a repository once)."""
    services = service_map()
    by_key = {(r.source, r.external_id): r for r in records}
    rows = []
    for r in by_key.values():
        name = r.repository or services.get(r.service.strip().lower(), "")
        rows.append(
            Incident(
                source=r.source[:40],
                external_id=r.external_id[:200],
                title=r.title,
                severity=r.severity[:40],
                service=r.service[:200],
                repository=repository(name) if name else None,
                started_at=_utc(r.started_at),
                resolved_at=_utc(r.resolved_at),
                deployment_ref=r.deployment_id[:100],
                sha=r.sha[:64].lower(),
                url=r.url[:500],
            )
        )
    upsert(Incident, rows, unique=["source", "external_id"], update=INCIDENT_FIELDS)
    ids: list[int] = []
    keys = list(by_key)
    for i in range(0, len(keys), CHUNK):
        q = Q()
        for source, external_id in keys[i : i + CHUNK]:
            q |= Q(source=source[:40], external_id=external_id[:200])
        ids += Incident.objects.filter(q).values_list("id", flat=True)
    return ids


INCIDENT_COLUMNS = ["id", "repository_id", "started_at", "deployment_ref", "sha"]
DEPLOYMENT_COLUMNS = [
    "id",
    "repository_id",
    "external_id",
    "sha",
    "created_at",
    "finished_at",
    "status",
    "is_production",
]


def incidents_link(*, repository_ids: Iterable[int] = (), incident_ids: Iterable[int] = ()) -> int:
    """Re-link these incidents and every incident of these repositories; returns how many changed."""
    repository_ids, incident_ids = set(repository_ids), set(incident_ids)
    if not repository_ids and not incident_ids:
        return 0
    incidents = Incident.objects.filter(Q(repository_id__in=repository_ids) | Q(id__in=incident_ids))
    frame = pd.DataFrame.from_records(
        list(incidents.values_list(*INCIDENT_COLUMNS, "deployment_id", "link")),
        columns=[*INCIDENT_COLUMNS, "old_deployment", "old_link"],
    )
    if frame.empty:
        return 0
    repos = set(frame["repository_id"].dropna().astype(int))
    named = set(frame["deployment_ref"]) - {""}
    deployments = Deployment.objects.filter(
        Q(repository_id__in=repos) | Q(external_id__in=named) | Q(is_production=True, sha__in=_shas(frame))
    )
    deploys = pd.DataFrame.from_records(
        list(deployments.values_list(*DEPLOYMENT_COLUMNS)), columns=DEPLOYMENT_COLUMNS
    )
    for column in ("started_at",):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in ("created_at", "finished_at"):
        deploys[column] = pd.to_datetime(deploys[column], utc=True)
    linked = link_incidents(frame, deploys)
    new = linked["deployment_id"].astype("object").where(linked["deployment_id"].notna(), None)
    changed = 0
    for row, deployment_id, link in zip(frame.itertuples(), new, linked["link"], strict=True):
        old = None if pd.isna(row.old_deployment) else int(row.old_deployment)
        if old != deployment_id or row.old_link != link:
            Incident.objects.filter(pk=row.id).update(deployment_id=deployment_id, link=link)
            changed += 1
    return changed


def _shas(frame: pd.DataFrame) -> list[str]:
    """Full shas the incidents name (a prefix is matched among the repository's own deployments)."""
    return [s for s in frame["sha"] if len(s) >= 40]


def delivery_split_write(rows: list[SplitRow]) -> int:
    """Replace the stored AI split (the one writer of ``DeliverySplit``), in one transaction."""
    with transaction.atomic():
        DeliverySplit.objects.all().delete()
        DeliverySplit.objects.bulk_create(DeliverySplit(**dataclasses.asdict(r)) for r in rows)
    return len(rows)


def incident_services_text() -> str:
    """The service map as the settings page shows it: one ``service = owner/name`` a line."""
    return "\n".join(f"{service} = {repo}" for service, repo in sorted(service_map().items()))


def incident_services_set(text: str) -> int:
    """Replace the service map from ``service = owner/name`` lines (blank lines and ``#`` comments
    skipped); a bad line raises ValueError naming every bad line, nothing stored.  Incidents of a newly
    mapped service without a repository get it and are re-linked; returns how many."""
    found: dict[str, str] = {}
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        service, sep, repo = (part.strip() for part in line.partition("="))
        if not sep or not service or not REPOSITORY.fullmatch(repo):
            bad.append(f"line {number}: expected 'service = owner/name', got {line[:80]!r}")
        elif service.lower() in found:
            bad.append(f"line {number}: {service!r} is mapped twice")
        else:
            found[service.lower()] = repo
    if bad:
        raise ValueError("; ".join(bad))
    with transaction.atomic():
        organization_settings_update({SERVICES_SETTING: found})
        changed = []
        for service, repo in found.items():
            repository, _ = Repository.objects.get_or_create(full_name=repo)
            rows = Incident.objects.filter(service__iexact=service, repository__isnull=True)
            ids = list(rows.values_list("id", flat=True))
            rows.update(repository=repository)
            changed += ids
        incidents_link(incident_ids=changed)
    return len(changed)
