"""Satisfaction figures for the dashboards, only ever from floored round results (the surveys selectors).

A round's floored results are computed by ``metrics.ingestion.surveys.survey_round_results`` (which applies
the privacy floor) and only the shown teams' means are kept, in the cache, under a key that changes when
the round's answers, the team tree, the memberships or the floor change (``round_version``): computing
them for a tree of hundreds of teams takes seconds, and every dashboard view needs them.  A team's trend
is read from those cached scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from metrics.ingestion import surveys as services
from metrics.ingestion.models import SurveyResponse, SurveyRound
from metrics.web import queries
from metrics.web.memo import cache, key

TREND_ROUNDS = 6
QUESTIONS = ("overall_satisfaction", "ease_of_shipping")
ORGANIZATION = 0  # the key of the whole round's scores (no team has id 0)


@dataclass(frozen=True)
class TeamScore:
    mean: float
    n: int


Scores = dict[int, dict[str, TeamScore]]


def _answered() -> QuerySet[SurveyRound]:
    """Rounds with at least one response (a semi-join: no duplicate rows to remove)."""
    return SurveyRound.objects.filter(Exists(SurveyResponse.objects.filter(survey_round=OuterRef("pk"))))


def latest_round() -> SurveyRound | None:
    """The newest round that has any response (an empty new round would blank the overview column)."""
    return _answered().order_by("-opened_at", "-id").first()


def _compute(survey_round: SurveyRound) -> Scores:
    results = services.survey_round_results(survey_round=survey_round, min_size=int(settings.MIN_GROUP_SIZE))
    # The whole round (the root group, no team) is kept under ORGANIZATION.
    shown = {
        str(row.group): ORGANIZATION if pd.isna(row.team_id) else int(row.team_id)
        for row in results.groups.itertuples(index=False)
        if not row.hidden
    }
    scores: Scores = {}
    for row in results.means.itertuples(index=False):
        if row.group in shown and row.question in QUESTIONS and not math.isnan(float(row.mean)):
            score = TeamScore(float(row.mean), int(row.n))
            scores.setdefault(shown[row.group], {})[str(row.question)] = score
    return scores


def round_scores(survey_round: SurveyRound, version: str | None = None) -> Scores:
    """Team id (ORGANIZATION: the whole round) -> question -> floored mean, for the groups shown above the
    floor (hidden ones are absent).  ``version``: the round's ``round_version`` when already known.  The
    dict is shared (cached in memory): read it, never change it."""
    version = version or services.round_version(survey_round)
    name = key("satisfaction", survey_round.pk, version)
    return cache.get_or_set(name, lambda: _compute(survey_round), services.RESULTS_CACHE_SECONDS)


def round_team_satisfaction(survey_round: SurveyRound, version: str | None = None) -> dict[int, TeamScore]:
    """Team id -> mean overall satisfaction of the team's group, for groups shown above the floor."""
    return {
        team: found["overall_satisfaction"]
        for team, found in round_scores(survey_round, version).items()
        if "overall_satisfaction" in found
    }


def team_trend(team_id: int, index: queries.TreeIndex | None = None) -> list[dict[str, object]]:
    """The team's satisfaction and ease of shipping in its last rounds (oldest first); None = hidden.
    ``index``: ``queries.cached_team_index()`` when already read."""
    rounds = list(_answered().order_by("-opened_at", "-id")[:50])
    if not rounds:
        return []
    scopes = _scopes(rounds, index if index is not None else queries.cached_team_index())
    chosen = [r for r in rounds if team_id in scopes[r.pk]][:TREND_ROUNDS]
    versions = services.round_versions(chosen)
    points = []
    for survey_round in chosen:
        found = round_scores(survey_round, versions[survey_round.pk]).get(team_id, {})
        overall, ease = found.get("overall_satisfaction"), found.get("ease_of_shipping")
        points.append(
            {
                "name": survey_round.name,
                "round": survey_round.pk,
                "overall": overall.mean if overall else None,
                "ease": ease.mean if ease else None,
                "n": overall.n if overall else 0,
            }
        )
    return list(reversed(points))


def _scopes(rounds: list[SurveyRound], index: queries.TreeIndex) -> dict[int, frozenset[int]]:
    """Round id -> ``survey_round_scope`` (its teams and every team below them), from the cached tree."""
    chosen: dict[int, list[int]] = {survey_round.pk: [] for survey_round in rounds}
    through = SurveyRound.teams.through.objects.filter(surveyround_id__in=list(chosen))
    for round_id, team_id in through.values_list("surveyround_id", "team_id"):
        chosen[round_id].append(team_id)
    return {round_id: index.below(team_ids) for round_id, team_ids in chosen.items()}
