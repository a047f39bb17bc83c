"""Survey services and selectors: opening rounds, built-in answers, imported answers, and frames.

A response belongs to a round.  Built-in answers are keyed ``(builtin, round:<id>:person:<id>)``, so a
developer has one response per round and may change it until the round closes; imported answers are
keyed ``(csv, round:<id>:<the tool's id>)``, so importing the same file again changes nothing.  Results
leave this module only through :func:`survey_round_results`, which applies the privacy floor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from connectors import survey_csv
from connectors.records import SurveyResponseRecord
from metrics.analytics import surveys as analytics
from metrics.core.models import Identity, Person, Team, TeamMembership, team_subtree
from metrics.core.versions import row_versions
from metrics.ingestion.bulk import upsert
from metrics.ingestion.models import SurveyResponse, SurveyRound
from metrics.ingestion.people import people_resolve
from metrics.ingestion.selectors import believable_times, team_frame
from metrics.ingestion.teams import team_find

MAX_FREE_TEXT = 5000
RESULTS_CACHE_SECONDS = 7 * 86400  # floored results are cached under round_version(), which changes with them
ANSWER_FIELDS = survey_csv.ANSWERS  # the answers of a response, as the survey file names them
RESPONSE_COLUMNS = ["response_id", "round_id", "team_id", "person_id", "submitted_at", *ANSWER_FIELDS]


class SurveyError(Exception):
    """A survey action that cannot be done.  ``errors`` maps an answer field (or "" for the whole
    action) to what is wrong with it; the message lists them all."""

    def __init__(self, errors: str | Mapping[str, str]) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))


@dataclass(frozen=True)
class ImportSummary:
    survey_round: SurveyRound
    round_created: bool
    new: int
    updated: int
    teams: int


# --- rounds -----------------------------------------------------------------------------------------


def survey_round_open(
    *,
    name: str,
    teams: Iterable[Team],
    closes_at: dt.datetime | None,
    user: AbstractBaseUser | AnonymousUser | None,
) -> SurveyRound:
    """Open a round now for ``teams`` (and every team below them), closing at ``closes_at`` (None: open)."""
    name = " ".join(name.split())
    chosen = list(dict.fromkeys(teams))
    errors = {}
    if not name:
        errors["name"] = "a round needs a name"
    elif len(name) > 200:
        errors["name"] = f"at most 200 characters, got {len(name)}"
    if not chosen:
        errors["teams"] = "choose at least one team"
    now = timezone.now()
    if closes_at is not None and (timezone.is_naive(closes_at) or closes_at <= now):
        errors["closes_at"] = "must be a time in the future (with a time zone)"
    if errors:
        raise SurveyError(errors)
    with transaction.atomic():
        created_by = user if user is not None and user.is_authenticated else None
        survey_round = SurveyRound.objects.create(
            name=name, opened_at=now, closes_at=closes_at, created_by=created_by
        )
        survey_round.teams.set(chosen)
    return survey_round


def survey_round_is_open(survey_round: SurveyRound, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return survey_round.opened_at <= now and (survey_round.closes_at is None or now < survey_round.closes_at)


def survey_round_scope(survey_round: SurveyRound) -> set[int]:
    """Ids of the round's teams and of every team below them."""
    return set(team_subtree(survey_round.teams.values_list("id", flat=True)))


# --- built-in answers -------------------------------------------------------------------------------


def person_for_user(user: AbstractBaseUser | AnonymousUser) -> Person | None:
    """The person behind a logged-in account: the one with the identity ``email:<the account's e-mail>``."""
    email = (getattr(user, "email", "") or "").strip().lower()
    if not email:
        return None
    identity = Identity.objects.select_related("person").filter(key=f"email:{email}").first()
    return identity.person if identity else None


def survey_eligible_teams(*, survey_round: SurveyRound, person: Person) -> list[Team]:
    """The round's teams (or teams below them) that ``person`` was in when the round opened."""
    memberships = TeamMembership.objects.filter(
        TeamMembership.at_q(survey_round.opened_at),
        person=person,
        team_id__in=survey_round_scope(survey_round),
    )
    return list(Team.objects.filter(id__in=memberships.values("team_id")).order_by("name"))


def _number(value: object, kind: type[int] | type[float]) -> int | float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = kind(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not {'a whole number' if kind is int else 'a number'}") from None
    if number != number:  # NaN
        raise ValueError("is not a number")
    return number


def survey_answers_clean(answers: Mapping[str, object]) -> dict[str, object]:
    """The answers to the built-in question set, checked; a SurveyError names every bad one."""
    errors: dict[str, str] = {}
    clean: dict[str, object] = {}
    for key in ("overall_satisfaction", "ease_of_shipping"):
        try:
            value = _number(answers.get(key), int)
        except ValueError as exc:
            errors[key] = str(exc)
            continue
        if value is None or value not in analytics.SCALE:
            errors[key] = "choose an answer from 1 to 5" if value is None else f"{value} is not from 1 to 5"
        clean[key] = value
    try:
        hours = _number(answers.get("ai_hours_saved_per_week"), float)
        if hours is not None and not 0 <= hours <= analytics.MAX_HOURS_SAVED:
            limit = analytics.MAX_HOURS_SAVED
            errors["ai_hours_saved_per_week"] = f"{hours:g} is not between 0 and {limit:g}"
        clean["ai_hours_saved_per_week"] = hours
    except ValueError as exc:
        errors["ai_hours_saved_per_week"] = str(exc)
    clean["ai_tool"] = analytics.canonical_tool(str(answers.get("ai_tool") or ""))
    frequency = str(answers.get("ai_frequency") or "").strip().lower()
    if frequency and frequency not in analytics.FREQUENCIES:
        errors["ai_frequency"] = f"{frequency!r} is not one of {', '.join(analytics.FREQUENCIES)}"
    clean["ai_frequency"] = frequency
    clean["free_text"] = str(answers.get("free_text") or "").strip()
    if len(str(clean["free_text"])) > MAX_FREE_TEXT:
        errors["free_text"] = f"at most {MAX_FREE_TEXT} characters, got {len(str(clean['free_text']))}"
    if errors:
        raise SurveyError(errors)
    return clean


def _answer_team(survey_round: SurveyRound, person: Person, chosen: object) -> Team:
    teams = survey_eligible_teams(survey_round=survey_round, person=person)
    if not teams:
        raise SurveyError(
            "you were not a member of this round's teams when it opened, so it is not yours to answer"
        )
    if chosen in (None, "") and len(teams) == 1:
        return teams[0]
    by_id = {str(team.pk): team for team in teams}
    if str(chosen) not in by_id:
        raise SurveyError({"team": f"choose the team you answer for: {', '.join(t.name for t in teams)}"})
    return by_id[str(chosen)]


def survey_response_submit(
    *, round: SurveyRound, user: AbstractBaseUser | AnonymousUser, answers: Mapping[str, object]
) -> SurveyResponse:
    """Store (or replace) the user's answers to ``round``: one response per person per round, editable
    until the round closes.  ``answers`` holds the question keys and, when the person was in several of
    the round's teams, ``team`` (the id of the team they answer for)."""
    survey_round = round
    person = person_for_user(user)
    if person is None:
        email = getattr(user, "email", "") or "(none)"
        raise SurveyError(
            f"your account's e-mail address {email} does not belong to any person Sextant "
            "knows; ask an administrator to add it (import_teams) so that your answers count "
            "for your team"
        )
    if not survey_round_is_open(survey_round):
        raise SurveyError(
            f"this round closed on {survey_round.closes_at:%Y-%m-%d %H:%M} UTC; answers can no "
            "longer be given or changed"
        )
    team = _answer_team(survey_round, person, answers.get("team"))
    clean = survey_answers_clean(answers)
    with transaction.atomic():
        response, _ = SurveyResponse.objects.update_or_create(
            source="builtin",
            external_id=f"round:{survey_round.pk}:person:{person.pk}",
            defaults={
                "survey_round": survey_round,
                "person": person,
                "team": team,
                "submitted_at": timezone.now(),
                **clean,
            },
        )
    return response


def survey_response_get(*, survey_round: SurveyRound, person: Person) -> SurveyResponse | None:
    """The person's own built-in response to the round, if any (to pre-fill the form)."""
    return SurveyResponse.objects.filter(
        source="builtin", external_id=f"round:{survey_round.pk}:person:{person.pk}"
    ).first()


# --- imported answers -------------------------------------------------------------------------------


def _import_round(
    round_name: str, records: list[SurveyResponseRecord], teams: list[Team]
) -> tuple[SurveyRound, bool]:
    """The round called ``round_name``; a new one spans the file's submission times (so it is closed)."""
    found = list(SurveyRound.objects.filter(name=round_name)[:2])
    if len(found) > 1:
        raise SurveyError(f"{len(found)} rounds are called {round_name!r}; rename one in the admin first")
    if found:
        survey_round, created = found[0], False
    else:
        times = [record.submitted_at for record in records]
        survey_round = SurveyRound.objects.create(name=round_name, opened_at=min(times), closes_at=max(times))
        created = True
    survey_round.teams.add(*teams)
    return survey_round, created


def _external_id(survey_round: SurveyRound, record: SurveyResponseRecord) -> str:
    key = f"round:{survey_round.pk}:{record.external_id}"
    # The column holds 200 characters; a longer id from a tool is replaced by its digest, stably.
    if len(key) <= 200:
        return key
    return f"round:{survey_round.pk}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _check_once_per_person(survey_round: SurveyRound, rows: list[SurveyResponse]) -> None:
    """A person already answered this round under another response (built-in, or another file's id)."""
    ours = {row.external_id for row in rows}
    people = {row.person_id: row for row in rows if row.person_id is not None}
    earlier = (
        SurveyResponse.objects.filter(survey_round=survey_round, person_id__in=list(people))
        .exclude(source="csv", external_id__in=list(ours))
        .values_list("person_id", "source", "person__display_name")
    )
    clashes = [f"{name} ({source})" for _, source, name in earlier]
    if clashes:
        raise SurveyError(
            f"{len(clashes)} respondent(s) already answered round {survey_round.name!r} under "
            f"another response: {', '.join(sorted(clashes)[:20])}"
        )


def survey_responses_import(*, records: list[SurveyResponseRecord], round_name: str) -> ImportSummary:
    """Upsert imported answers into the round called ``round_name`` (created when new), in one
    transaction; teams must exist (an unknown team name is an error naming every unknown one)."""
    round_name = " ".join(round_name.split())
    if not round_name:
        raise SurveyError("name the round the answers belong to (--round NAME)")
    if not records:
        raise SurveyError("the file holds no responses")
    names = sorted({r.team for r in records if r.team}, key=str.casefold)
    teams = {name: team_find(name=name) for name in names}
    unknown = [name for name, team in teams.items() if team is None]
    if unknown:
        raise SurveyError(
            f"unknown team(s) {', '.join(repr(n) for n in unknown)}: create them with "
            "import_teams first, or map no team column"
        )
    with transaction.atomic():
        known = [team for team in teams.values() if team is not None]
        survey_round, created = _import_round(round_name, records, known)
        people = people_resolve(identities=[r.respondent for r in records])
        rows = [
            SurveyResponse(
                survey_round=survey_round,
                person_id=people.get(r.respondent.key) if r.respondent else None,
                team=teams[r.team] if r.team else None,
                submitted_at=r.submitted_at.astimezone(dt.UTC),
                overall_satisfaction=r.overall_satisfaction,
                ease_of_shipping=r.ease_of_shipping,
                ai_hours_saved_per_week=r.ai_hours_saved_per_week,
                ai_tool=analytics.canonical_tool(r.ai_tool),
                ai_frequency=r.ai_frequency,
                free_text=r.free_text,
                source="csv",
                external_id=_external_id(survey_round, r),
            )
            for r in records
        ]
        _check_once_per_person(survey_round, rows)
        existing = set(
            SurveyResponse.objects.filter(
                source="csv", external_id__in=[row.external_id for row in rows]
            ).values_list("external_id", flat=True)
        )
        update = ["survey_round", "person", "team", "submitted_at", *ANSWER_FIELDS]
        upsert(SurveyResponse, rows, unique=["source", "external_id"], update=update)
    new = sum(1 for row in rows if row.external_id not in existing)
    return ImportSummary(
        survey_round=survey_round, round_created=created, new=new, updated=len(rows) - new, teams=len(known)
    )


# --- selectors and results --------------------------------------------------------------------------


def survey_frame(*, round_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """One row per response (columns ``RESPONSE_COLUMNS``, see metrics.analytics.surveys), oldest first."""
    qs = SurveyResponse.objects.filter(survey_round__isnull=False)
    if round_ids is not None:
        qs = qs.filter(survey_round_id__in=list(round_ids))
    fields = ["id", "survey_round_id", "team_id", "person_id", "submitted_at", *ANSWER_FIELDS]
    frame = pd.DataFrame.from_records(
        list(qs.order_by("submitted_at", "id").values_list(*fields)), columns=RESPONSE_COLUMNS
    )
    return frame.astype(
        {
            "response_id": "int64",
            "round_id": "int64",
            "team_id": "Int64",
            "person_id": "Int64",
            "overall_satisfaction": "float64",
            "ease_of_shipping": "float64",
            "ai_hours_saved_per_week": "float64",
        }
    ).assign(submitted_at=lambda f: believable_times(f["submitted_at"]))  # year 9999: unknown, not a crash


def survey_member_frame(*, survey_round: SurveyRound) -> pd.DataFrame:
    """(person_id, team_id): who was asked — people (not bots) in the round's teams when it opened."""
    rows = TeamMembership.objects.filter(
        TeamMembership.at_q(survey_round.opened_at),
        team_id__in=survey_round_scope(survey_round),
        person__is_bot=False,
    ).values_list("person_id", "team_id")
    return pd.DataFrame.from_records(list(rows), columns=["person_id", "team_id"]).astype("int64")


def survey_round_list() -> list[SurveyRound]:
    return list(SurveyRound.objects.prefetch_related("teams").order_by("-opened_at", "-id"))


def survey_round_results(
    *, survey_round: SurveyRound, min_size: int | None = None, responses: pd.DataFrame | None = None
) -> analytics.RoundResults:
    """The round's results with the privacy floor applied: the only way results leave the database.
    The floor is ``settings.MIN_GROUP_SIZE``; ``min_size`` can only raise it, never lower it."""
    min_size = max(int(settings.MIN_GROUP_SIZE), min_size or 0)
    if responses is None:
        responses = survey_frame(round_ids=[survey_round.pk])
    responses = responses[responses["round_id"] == survey_round.pk]
    extra = {int(t) for t in responses["team_id"].dropna()}
    groups = analytics.group_tree(team_frame(), survey_round_scope(survey_round), extra)
    return analytics.round_results(
        responses, groups, survey_member_frame(survey_round=survey_round), min_size=min_size
    )


def round_versions(rounds: Iterable[SurveyRound]) -> dict[int, str]:
    """Round id -> ``round_version`` of each of ``rounds``, in one query."""
    rounds = list(rounds)
    common = [Team, TeamMembership, (Person, {"is_bot": True})]
    own = [
        source
        for survey_round in rounds
        for source in (
            (SurveyResponse, {"survey_round": survey_round.pk}),
            (SurveyRound, {"id": survey_round.pk}),
            (SurveyRound.teams.through, {"surveyround": survey_round.pk}),
        )
    ]
    versions = row_versions(*common, *own)
    shared = versions[: len(common)]
    found = {}
    for index, survey_round in enumerate(rounds):
        start = len(common) + 3 * index
        parts = [*shared, *versions[start : start + 3], survey_round.opened_at, settings.MIN_GROUP_SIZE]
        found[survey_round.pk] = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return found


def round_version(survey_round: SurveyRound) -> str:
    """A short hash that changes whenever the round's floored results may change (for cache keys): its
    answers, the round itself and its teams, the team tree, the memberships, who is a bot (bots are not
    asked) and the privacy floor.  One query (see ``row_versions``)."""
    return round_versions([survey_round])[survey_round.pk]
