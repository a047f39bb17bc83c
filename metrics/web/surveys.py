"""Survey pages: open a round (managers), answer it (developers), read the floored results (everyone).

Who may do what (``metrics.core.access``): any logged-in user reads results, which never show a group
below ``settings.MIN_GROUP_SIZE``; admins open rounds for any team, managers for their own teams and the
teams below them, and both read the free-text comments; a developer answers a round of a team they were
in when it opened, through ``/surveys/<id>/answer/``, recognised by the e-mail address of their account.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache as shared_cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from metrics.analytics import surveys as analytics
from metrics.core import access
from metrics.core.models import Team
from metrics.ingestion import surveys as services
from metrics.ingestion.models import SurveyRound
from metrics.web import params
from metrics.web import survey_context as pages
from metrics.web.memo import key

TREND_ROUNDS = 6
TREND_QUESTIONS = ("overall_satisfaction", "ease_of_shipping")


def can_manage_surveys(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins and managers (their Sextant role) open rounds and read comments."""
    return access.for_user(user).manages_surveys


def _team_choices(request: HttpRequest) -> list[dict[str, Any]]:
    """The teams this user may open a round for: every team for admins, a manager's own and below."""
    allowed = access.for_request(request).survey_team_ids
    return [t for t in pages.team_choices() if allowed is None or t["id"] in allowed]


def _min_size() -> int:
    return int(settings.MIN_GROUP_SIZE)


def _error(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return render(request, "dashboards/error.html", {"title": title, "message": message}, status=status)


def _plotly_url() -> str:
    return f"{reverse('web:asset', args=['plotly.min.js'])}?v={plotly.__version__}"


def _answerable(request: HttpRequest, rounds: list[SurveyRound]) -> dict[int, bool]:
    """Round id -> True when the user may answer it now (open, and they were in one of its teams)."""
    person = services.person_for_user(request.user)
    if person is None:
        return {}
    return {
        r.pk: bool(services.survey_eligible_teams(survey_round=r, person=person))
        for r in rounds
        if services.survey_round_is_open(r)
    }


def _round_results(rounds: list[SurveyRound]) -> dict[int, analytics.RoundResults]:
    """Each round's floored results, kept in the shared cache under its ``round_version`` (it changes with
    the answers, teams, memberships and floor): computed every visit they took ~0.4 s a round (2-6 s for
    the demo's rounds, seen by the every-page browser test).  The answers are read once, on a miss."""
    versions = services.round_versions(rounds)
    responses: list[Any] = []

    def compute(survey_round: SurveyRound) -> analytics.RoundResults:
        if not responses:
            responses.append(services.survey_frame())
        return services.survey_round_results(
            survey_round=survey_round, min_size=_min_size(), responses=responses[0]
        )

    return {
        r.pk: shared_cache.get_or_set(
            key("survey-round-results", r.pk, versions[r.pk], _min_size()),
            lambda r=r: compute(r),
            services.RESULTS_CACHE_SECONDS,
        )
        for r in rounds
    }


@login_required
def survey_index(request: HttpRequest) -> HttpResponse:
    rounds = services.survey_round_list()
    results = _round_results(rounds)
    answerable = _answerable(request, rounds)
    rows = [
        {
            "round": r,
            "open": services.survey_round_is_open(r),
            "teams": [t.name for t in r.teams.all()],
            "summary": pages.group_rows(results[r.pk])[0],
            "answerable": answerable.get(r.pk, False),
        }
        for r in rounds
    ]
    oldest_first = [(r, results[r.pk]) for r in reversed(rounds)][-TREND_ROUNDS * 2 :]
    context = {
        "rows": rows,
        "to_answer": [row for row in rows if row["answerable"]],
        "can_manage": can_manage_surveys(request.user),
        "min_size": _min_size(),
        "chart": pages.trend_chart(oldest_first) if oldest_first else "",
        "plotly_js_url": _plotly_url(),
        "questions": analytics.QUESTIONS,
        "mean_questions": [pages.SHORT[q] for q in pages.MEAN_QUESTIONS],
    }
    return render(request, "surveys/index.html", context)


def _trend_rounds(
    survey_round: SurveyRound, own: analytics.RoundResults
) -> list[tuple[SurveyRound, analytics.RoundResults]]:
    earlier = list(
        SurveyRound.objects.filter(opened_at__lt=survey_round.opened_at).order_by("-opened_at", "-id")[
            : TREND_ROUNDS - 1
        ]
    )
    chosen = [*reversed(earlier), survey_round]
    responses = services.survey_frame(round_ids=[r.pk for r in chosen])
    return [
        (
            r,
            own
            if r.pk == survey_round.pk
            else services.survey_round_results(survey_round=r, min_size=_min_size(), responses=responses),
        )
        for r in chosen
    ]


@login_required
def survey_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    survey_round = get_object_or_404(SurveyRound, pk=round_id)
    responses = services.survey_frame(round_ids=[survey_round.pk])
    results = services.survey_round_results(
        survey_round=survey_round, min_size=_min_size(), responses=responses
    )
    rows = pages.group_rows(results)
    selected = request.GET.get("group", analytics.ROOT)
    chosen = next((row for row in rows if row["group"] == selected), None)
    if chosen is None:
        message = f"Unknown group {selected!r}: choose one of the groups listed on this round's page."
        return _error(request, "Bad request", message, 400)
    manager = can_manage_surveys(request.user)
    trend_rounds = _trend_rounds(survey_round, results)
    context = {
        "round": survey_round,
        "open": services.survey_round_is_open(survey_round),
        "rows": rows,
        "chosen": chosen,
        "distributions": [] if chosen["hidden"] else pages.distributions(results, selected),
        "trends": [pages.trend_table(results, trend_rounds, q) for q in TREND_QUESTIONS],
        "comments": analytics.survey_comments(responses, results) if manager else None,
        "can_manage": manager,
        "min_size": _min_size(),
        "mean_questions": [pages.SHORT[q] for q in pages.MEAN_QUESTIONS],
        "answer_url": request.build_absolute_uri(reverse("web:surveys:answer", args=[survey_round.pk])),
        "teams": [t.name for t in survey_round.teams.all()],
        "opened": request.GET.get("opened") == "1",
    }
    return render(request, "surveys/detail.html", context)


def _answer_context(request: HttpRequest, survey_round: SurveyRound) -> dict[str, Any]:
    """What the answer page needs; ``blocked`` explains why this user cannot answer (else "")."""
    person = services.person_for_user(request.user)
    context: dict[str, Any] = {
        "round": survey_round,
        "teams": [],
        "values": {},
        "errors": {},
        "blocked": "",
        "known_tools": analytics.KNOWN_TOOLS,
        "max_hours": analytics.MAX_HOURS_SAVED,
    }
    if person is None:
        email = getattr(request.user, "email", "") or "(none)"
        context["blocked"] = (
            f"Your account's e-mail address, {email}, is not linked to a person in Sextant, so your "
            "answers could not count for your team. Ask an administrator to add it to your team "
            "(manage.py import_teams), then come back to this link."
        )
        return context
    if not services.survey_round_is_open(survey_round):
        context["blocked"] = "This round is closed: answers can no longer be given or changed."
        return context
    context["teams"] = services.survey_eligible_teams(survey_round=survey_round, person=person)
    if not context["teams"]:
        context["blocked"] = (
            "You were not in any of this round's teams when it opened, so this round is not yours to answer."
        )
    existing = services.survey_response_get(survey_round=survey_round, person=person)
    if existing is not None:
        context["values"] = {field: getattr(existing, field) for field in services.ANSWER_FIELDS}
        context["values"]["team"] = existing.team_id
        context["answered_at"] = existing.submitted_at
    return context


def _answer_page(request: HttpRequest, context: dict[str, Any], status: int) -> HttpResponse:
    chosen_team = str(context["values"].get("team") or "")
    context.update(
        fields=pages.answer_fields(context["values"], context["errors"]),
        min_size=_min_size(),
        general_error=context["errors"].get("", ""),
        team_options=[
            {"id": t.pk, "name": t.name, "selected": str(t.pk) == chosen_team} for t in context["teams"]
        ],
    )
    return render(request, "surveys/answer.html", context, status=status)


@login_required
def survey_answer(request: HttpRequest, round_id: int) -> HttpResponse:
    survey_round = get_object_or_404(SurveyRound, pk=round_id)
    context = _answer_context(request, survey_round)
    if request.method != "POST" or context["blocked"]:
        status = 400 if request.method == "POST" else 200
        context["saved"] = request.GET.get("saved") == "1"
        return _answer_page(request, context, status)
    answers = {key: request.POST.get(key, "") for key in (*services.ANSWER_FIELDS, "team")}
    try:
        services.survey_response_submit(round=survey_round, user=request.user, answers=answers)
    except services.SurveyError as exc:
        context.update(values=answers, errors=exc.errors)
        return _answer_page(request, context, 400)
    return redirect(f"{reverse('web:surveys:answer', args=[survey_round.pk])}?saved=1")


def _closes_at(text: str) -> dt.datetime | None:
    """A date ``YYYY-MM-DD`` -> the end of that day (00:00 UTC the next day); blank -> no closing time."""
    if not text.strip():
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if not params.EARLIEST_DAY <= day <= params.LATEST_DAY:  # 9999-12-31 + 1 day would overflow
        raise ValueError(f"{text.strip()!r} is not a date from {params.EARLIEST_DAY} to {params.LATEST_DAY}")
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@login_required
def survey_open(request: HttpRequest) -> HttpResponse:
    if not can_manage_surveys(request.user):
        message = "Only managers and administrators open survey rounds."
        return _error(request, "Not allowed", message, 403)
    context: dict[str, Any] = {
        "teams": _team_choices(request),
        "errors": {},
        "values": {"team_ids": []},
        "min_size": _min_size(),
    }
    if request.method != "POST":
        return render(request, "surveys/open.html", context)
    values = {
        "name": request.POST.get("name", ""),
        "closes_on": request.POST.get("closes_on", ""),
        "team_ids": request.POST.getlist("teams"),
    }
    chosen = Team.objects.filter(pk__in=[v for v in values["team_ids"] if v.isdigit()])
    if not access.for_request(request).may_open_survey_for(t.pk for t in chosen):
        message = "You may open rounds only for the teams you manage and the teams below them."
        return _error(request, "Not allowed", message, 403)
    try:
        closes_at = _closes_at(values["closes_on"])
    except ValueError as exc:
        context.update(values=values, errors={"closes_at": str(exc)})
        return render(request, "surveys/open.html", context, status=400)
    try:
        survey_round = services.survey_round_open(
            name=values["name"], teams=chosen, closes_at=closes_at, user=request.user
        )
    except services.SurveyError as exc:
        context.update(values=values, errors=exc.errors, general_error=exc.errors.get("", ""))
        return render(request, "surveys/open.html", context, status=400)
    return redirect(f"{reverse('web:surveys:detail', args=[survey_round.pk])}?opened=1")
