"""/api/v1/survey-results/: survey means and response rates per round and group, privacy floor applied.

Only what the survey pages may show leaves here: rows come from ``survey_round_results`` (the one
floored path out of the database); hidden groups appear with their reason and no numbers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.api.access import ReadOnlyApiAccess, TokenRateThrottle, request_access
from metrics.api.authentication import ApiTokenAuthentication
from metrics.api.csv_export import CSVRenderer, csv_raw
from metrics.api.sql import csv_cell
from metrics.core.models import Team
from metrics.ingestion.models import SurveyRound
from metrics.ingestion.surveys import RESULTS_CACHE_SECONDS, round_version, survey_round_results

FIELDS = [
    "round_id",
    "round",
    "group",
    "team",
    "hidden",
    "members",
    "respondents",
    "response_rate",
    "question",
    "n",
    "mean",
]
ERROR = inline_serializer("SurveyError", {"detail": serializers.CharField()})
ROW = inline_serializer(
    "SurveyResult",
    {
        "round_id": serializers.IntegerField(),
        "round": serializers.CharField(),
        "group": serializers.CharField(),
        "team": serializers.CharField(allow_null=True),
        "hidden": serializers.CharField(help_text="'' when shown; small | subtraction when hidden"),
        "members": serializers.IntegerField(allow_null=True),
        "respondents": serializers.IntegerField(allow_null=True),
        "response_rate": serializers.FloatField(allow_null=True),
        "question": serializers.CharField(allow_null=True),
        "n": serializers.IntegerField(allow_null=True),
        "mean": serializers.FloatField(allow_null=True),
    },
)


def _num(value: Any) -> Any:
    if value is None:
        return None
    try:
        if math.isnan(float(value)):
            return None
    except (TypeError, ValueError):
        return None
    return value


def survey_result_rows(survey_round: SurveyRound, team_ids: frozenset[int] | None) -> list[dict[str, Any]]:
    """The rows the caller may see; a team-scoped token sees its teams' groups only."""
    return [row for team_id, row in _cached_rows(survey_round) if team_ids is None or team_id in team_ids]


def _cached_rows(survey_round: SurveyRound) -> list[tuple[int | None, dict[str, Any]]]:
    """Every group's rows, cached like the dashboards' scores (seconds to compute for hundreds of teams),
    under a key that changes with the answers, the team tree, the floor, the round's and teams' names."""
    names = "|".join(f"{pk},{name}" for pk, name in Team.objects.order_by("pk").values_list("pk", "name"))
    version = f"{round_version(survey_round)}:{survey_round.name}:{names}"
    key = f"sextant:api:survey-results:{survey_round.pk}:{hashlib.sha256(version.encode()).hexdigest()[:32]}"
    return cache.get_or_set(key, lambda: _rows(survey_round), RESULTS_CACHE_SECONDS)


def _rows(survey_round: SurveyRound) -> list[tuple[int | None, dict[str, Any]]]:
    results = survey_round_results(survey_round=survey_round, min_size=settings.MIN_GROUP_SIZE)
    means = results.means.groupby("group")
    rows: list[tuple[int | None, dict[str, Any]]] = []
    for group in results.groups.to_dict("records"):
        team_id = group.get("team_id")
        team_id = None if _num(team_id) is None else int(team_id)
        base = {
            "round_id": survey_round.pk,
            "round": survey_round.name,
            "group": group["group"],
            "team": group.get("name") if team_id is not None else None,
            "hidden": group["hidden"],
            "members": None if group["hidden"] else _num(group.get("members")),
            "respondents": None if group["hidden"] else _num(group.get("respondents")),
            "response_rate": None if group["hidden"] else _num(group.get("response_rate")),
        }
        stats = means.get_group(group["group"]) if group["group"] in means.groups else None
        if stats is None or group["hidden"]:
            rows.append((team_id, {**base, "question": None, "n": None, "mean": None}))
            continue
        for stat in stats.to_dict("records"):
            rows.append(
                (
                    team_id,
                    {**base, "question": stat["question"], "n": int(stat["n"]), "mean": _num(stat["mean"])},
                )
            )
    return rows


class SurveyResultsApi(APIView):
    """Survey results of one round (``round``, default the latest): per group and question, n and mean."""

    authentication_classes = [SessionAuthentication, ApiTokenAuthentication, BasicAuthentication]
    permission_classes = [ReadOnlyApiAccess]
    throttle_classes = [TokenRateThrottle]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="survey_results_list",
        parameters=[
            OpenApiParameter("round", int, description="survey round id (default: the latest)"),
            OpenApiParameter("format", str, enum=["json", "csv"]),
        ],
        responses={
            200: inline_serializer(
                "SurveyResults",
                {
                    "min_group_size": serializers.IntegerField(),
                    "results": serializers.ListField(child=ROW),
                },
            ),
            **dict.fromkeys((400, 403, 404, 429), ERROR),
        },
    )
    def get(self, request: Request) -> Any:
        access = request_access(request)
        survey_round = self._round(request.query_params.get("round"))
        rows = survey_result_rows(survey_round, access.team_ids) if survey_round else []
        if request.accepted_renderer.format == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=FIELDS)
            writer.writeheader()
            raw = csv_raw(request)
            writer.writerows(rows if raw else [{k: csv_cell(v) for k, v in row.items()} for row in rows])
            response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="survey-results.csv"'
            return response
        return Response({"min_group_size": settings.MIN_GROUP_SIZE, "results": rows})

    @staticmethod
    def _round(raw: str | None) -> SurveyRound | None:
        if raw in (None, ""):
            return SurveyRound.objects.order_by("-opened_at").first()
        if not str(raw).isdigit() or len(str(raw)) > 12:
            raise exceptions.ParseError("round: must be a survey round id (a positive integer)")
        found = SurveyRound.objects.filter(pk=int(raw)).first()
        if found is None:
            raise exceptions.NotFound(f"round: no survey round with id {raw}")
        return found
