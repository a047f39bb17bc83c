"""/api/v1/experiments/ (planned AI rollouts: the ruling plan, its hash, effects with intervals and n,
the event study and weekly compliance) and /api/v1/experiment-assignments/ (who gets the tool when: names,
for admins only, as the licence hand-out list; CSV cells through ``csv_cell``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.api.access import request_access
from metrics.api.csv_export import csv_raw
from metrics.api.sql import csv_cell
from metrics.api.views import ReadOnlyApi
from metrics.core.models import Person, Team
from metrics.ingestion.experiments import plan_intact
from metrics.ingestion.models import Experiment

ERROR = inline_serializer("ExperimentError", {"detail": serializers.CharField()})
EFFECT_FIELDS = [
    "experiment_id",
    "experiment",
    "plan_version",
    "plan_sha256",
    "outcome",
    "method",
    "unit",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "n_clusters",
    "status",
    "reading",
]
ASSIGNMENT_FIELDS = ["experiment_id", "person", "team", "stratum", "arm", "gets_the_tool_on"]


def _visible(access: Any) -> list[Experiment]:
    """Experiments whose eligible teams all lie in the caller's scope (a team-limited token sees no other)."""
    found = []
    for experiment in Experiment.objects.select_related("result").order_by("pk"):
        plan = experiment.frozen_plan()
        teams = set((plan.content if plan else {}).get("eligible_team_ids", []))
        if access.team_ids is None or teams <= set(access.team_ids):
            found.append(experiment)
    return found


def experiment_payload(experiment: Experiment) -> dict[str, Any]:
    plan = experiment.frozen_plan()
    result = getattr(experiment, "result", None)
    data = result.data if result is not None else {}
    return {
        "id": experiment.pk,
        "name": experiment.name,
        "tool": experiment.tool,
        "unit": experiment.unit,
        "design": experiment.design,
        "plan": None
        if plan is None
        else {
            "version": plan.version,
            "frozen_at": plan.frozen_at,
            "sha256": plan.sha256,
            "intact": plan_intact(plan),
            "outcomes": plan.content.get("outcomes"),
            "waves": plan.content.get("waves"),
            "end": plan.content.get("end"),
            "analysis": plan.content.get("analysis"),
            "seed": plan.content.get("seed"),
            "supersedes": plan.content.get("supersedes"),
        },
        "results": None
        if result is None
        else {
            "plan_version": result.plan_version,
            "computed_at": result.computed_at,
            "through": data.get("through"),
            "usage_source": data.get("usage_source"),
            "people": data.get("people"),
            "clusters": data.get("clusters"),
            "effects": data.get("effects", []),
            "event_study": data.get("event_study", {}),
            "weekly": data.get("weekly", []),
        },
    }


def _csv(rows: list[dict[str, Any]], fields: list[str], name: str, raw: bool) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows if raw else [{k: csv_cell(v) for k, v in row.items()} for row in rows])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


class ExperimentsApi(ReadOnlyApi, APIView):
    """Planned AI rollouts run as experiments, with their frozen plan and results (CSV: one row per
    effect)."""

    @extend_schema(
        operation_id="experiments_list",
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={
            200: inline_serializer(
                "Experiments", {"results": serializers.ListField(child=serializers.DictField())}
            ),
            **dict.fromkeys((400, 403, 429), ERROR),
        },
    )
    def get(self, request: Request) -> Any:
        payloads = [experiment_payload(e) for e in _visible(request_access(request))]
        if request.accepted_renderer.format == "csv":
            rows = [
                {
                    "experiment_id": p["id"],
                    "experiment": p["name"],
                    "plan_version": p["results"]["plan_version"],
                    "plan_sha256": (p["plan"] or {}).get("sha256"),
                    **{k: v for k, v in effect.items() if k in EFFECT_FIELDS},
                    **{k: effect["shown"][k] for k in ("estimate", "ci_low", "ci_high")},
                }
                for p in payloads
                if p["results"]
                for effect in p["results"]["effects"]
            ]
            return _csv(rows, EFFECT_FIELDS, "experiments", csv_raw(request))
        return Response({"results": payloads})


class ExperimentAssignmentsApi(ReadOnlyApi, APIView):
    """Who gets the tool when (``experiment`` id required): names, so admins only."""

    @extend_schema(
        operation_id="experiment_assignments_list",
        parameters=[
            OpenApiParameter("experiment", int, required=True, description="experiment id"),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={
            200: inline_serializer(
                "ExperimentAssignments", {"results": serializers.ListField(child=serializers.DictField())}
            ),
            **dict.fromkeys((400, 403, 404, 429), ERROR),
        },
    )
    def get(self, request: Request) -> Any:
        access = request_access(request)
        if not access.plans_experiments or access.team_ids is not None:
            raise exceptions.PermissionDenied("the assignment list names people: admins only")
        raw = request.query_params.get("experiment", "")
        if not raw.isdigit() or len(raw) > 12:
            raise exceptions.ParseError("experiment: required, an experiment id (a positive integer)")
        experiment = Experiment.objects.filter(pk=int(raw)).first()
        if experiment is None:
            raise exceptions.NotFound(f"experiment: no experiment with id {raw}")
        rows = assignment_rows(experiment)
        if request.accepted_renderer.format == "csv":
            return _csv(rows, ASSIGNMENT_FIELDS, f"experiment-{experiment.pk}-assignment", csv_raw(request))
        return Response({"results": rows})


def assignment_rows(experiment: Experiment) -> list[dict[str, Any]]:
    assigned = experiment.assignments.order_by("starts_on", "team_id", "person_id")
    names = dict(Person.objects.filter(pk__in=assigned.values("person_id")).values_list("pk", "display_name"))
    teams = dict(Team.objects.values_list("pk", "name"))
    randomized = experiment.design == Experiment.Design.RANDOMIZED
    return [
        {
            "experiment_id": experiment.pk,
            "person": names.get(row.person_id, ""),
            "team": teams.get(row.team_id, ""),
            "stratum": row.stratum,
            "arm": ("treatment" if row.arm == 1 else "control") if randomized else f"wave {row.arm}",
            "gets_the_tool_on": row.starts_on.isoformat() if row.starts_on else "after the end",
        }
        for row in assigned
    ]
