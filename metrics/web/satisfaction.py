"""Satisfaction figures for the dashboards, only ever from floored round results (the surveys selectors).

A round's floored results are computed by ``metrics.ingestion.surveys.survey_round_results`` (which applies
the privacy floor) and only the shown teams' means are kept, in the cache, under a key that changes when
the round's answers, the team tree or the floor change: computing them for a tree of hundreds of teams
takes seconds, and every dashboard view needs them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from django.conf import settings
from django.core.cache import cache

from metrics.ingestion import surveys as services
from metrics.ingestion.models import SurveyRound

TREND_ROUNDS = 6
QUESTIONS = ("overall_satisfaction", "ease_of_shipping")
ORGANIZATION = 0  # the key of the whole round's scores (no team has id 0)


@dataclass(frozen=True)
class TeamScore:
    mean: float
    n: int


Scores = dict[int, dict[str, TeamScore]]


def latest_round() -> SurveyRound | None:
    """The newest round that has any response (an empty new round would blank the overview column)."""
    return SurveyRound.objects.filter(responses__isnull=False).order_by("-opened_at", "-id").first()


def _compute(survey_round: SurveyRound) -> Scores:
    results = services.survey_round_results(survey_round=survey_round, min_size=int(settings.MIN_GROUP_SIZE))
    # The whole round (the root group, no team) is kept under ORGANIZATION.
    shown = {str(row.group): ORGANIZATION if pd.isna(row.team_id) else int(row.team_id)
             for row in results.groups.itertuples(index=False) if not row.hidden}
    scores: Scores = {}
    for row in results.means.itertuples(index=False):
        if row.group in shown and row.question in QUESTIONS and not math.isnan(float(row.mean)):
            score = TeamScore(float(row.mean), int(row.n))
            scores.setdefault(shown[row.group], {})[str(row.question)] = score
    return scores


def round_scores(survey_round: SurveyRound) -> Scores:
    """Team id (ORGANIZATION: the whole round) -> question -> floored mean, for the groups shown above the
    floor (hidden ones are absent)."""
    key = f"sextant:web:satisfaction:{survey_round.pk}:{services.round_version(survey_round)}"
    return cache.get_or_set(key, lambda: _compute(survey_round), services.RESULTS_CACHE_SECONDS)


def round_team_satisfaction(survey_round: SurveyRound) -> dict[int, TeamScore]:
    """Team id -> mean overall satisfaction of the team's group, for groups shown above the floor."""
    return {team: found["overall_satisfaction"] for team, found in round_scores(survey_round).items()
            if "overall_satisfaction" in found}


def team_trend(team_id: int) -> list[dict[str, object]]:
    """The team's satisfaction and ease of shipping in its last rounds (oldest first); None = hidden."""
    rounds = SurveyRound.objects.filter(responses__isnull=False).distinct().order_by("-opened_at", "-id")
    points = []
    for survey_round in rounds[:50]:
        if len(points) == TREND_ROUNDS:
            break
        if team_id not in services.survey_round_scope(survey_round):
            continue
        found = round_scores(survey_round).get(team_id, {})
        overall, ease = found.get("overall_satisfaction"), found.get("ease_of_shipping")
        points.append({"name": survey_round.name, "round": survey_round.pk,
                       "overall": overall.mean if overall else None, "ease": ease.mean if ease else None,
                       "n": overall.n if overall else 0})
    return list(reversed(points))
