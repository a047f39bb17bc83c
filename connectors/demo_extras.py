"""The demo organization's survey rounds, AI seats and seat prices (see :mod:`connectors.demo`).

A monthly developer pulse: about 80% of the engineers in a team at the time answer (so most teams of the
full demo are above the privacy floor), satisfaction around a planted team mood, AI users report hours
saved per week with the tool they used.  Seats: GitHub Copilot seats are assignments per person, as its
billing API reports them (assigned a few days before the person's first Copilot PR, cancelled when they
leave); Claude Code and Cursor seats are monthly counts as an invoice gives them (the tool's users that
month plus a spare seat or two).  Drawn from their own random stream, so the PRs do not change.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.demo_model import _PR, _Engineer, _Team
from connectors.records import AISeatRecord, SurveyResponseRecord
from connectors.seats_csv import SeatCountRecord

SEAT_PRICES = {"GitHub Copilot": 19.0, "Cursor": 40.0, "Claude Code": 100.0}
API_SEATS = "GitHub Copilot"  # seats from the (simulated) billing API; the others are invoice counts
RESPONSE_P = 0.8
SATISFACTION_MEAN = 3.6
AI_HOURS_MEDIAN = 2.5  # self-reported hours saved per week by an AI user


@dataclass
class DemoExtras:
    surveys: dict[str, list[SurveyResponseRecord]] = field(default_factory=dict)
    seats: list[AISeatRecord] = field(default_factory=list)
    seat_counts: list[SeatCountRecord] = field(default_factory=list)
    prices: dict[str, float] = field(default_factory=dict)
    truth: dict[str, Any] = field(default_factory=dict)


def _month(t: datetime) -> date:
    return date(t.year, t.month, 1)


def _first_monday(month: date) -> datetime:
    day = month + timedelta(days=(7 - month.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def _months(start: datetime, end: datetime) -> list[date]:
    months, month = [], _month(start)
    while month <= _month(end):
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def _ai_tools_by_month(prs: list[_PR]) -> dict[tuple[date, str], set[str]]:
    """(month, tool) -> logins of the people who opened an AI-assisted PR with the tool that month."""
    users: dict[tuple[date, str], set[str]] = defaultdict(set)
    for pr in prs:
        if pr.ai and pr.tool and not pr.is_bot:
            users[(_month(pr.created), pr.tool)].add(pr.author.login)
    return users


def _answer(
    rng: random.Random, eng: _Engineer, team: _Team, mood: float, tool: str, round_id: str, at: datetime
) -> SurveyResponseRecord:
    score = min(5, max(1, round(rng.gauss(SATISFACTION_MEAN + mood + (0.3 if tool else 0.0), 0.8))))
    ease = min(5, max(1, round(rng.gauss(3.4 + mood, 0.9))))
    hours = round(rng.lognormvariate(math.log(AI_HOURS_MEDIAN), 0.6), 1) if tool else None
    return SurveyResponseRecord(
        external_id=f"{round_id}:{eng.ident.login}",
        respondent=eng.ident,
        submitted_at=at,
        team=team.name,
        overall_satisfaction=score,
        ease_of_shipping=ease,
        ai_hours_saved_per_week=hours,
        ai_tool=tool,
        ai_frequency=rng.choice(("daily", "daily", "weekly")) if tool else "never",
    )


def _uses(eng: _Engineer, team: _Team, at: datetime) -> str:
    """The team's tool when the engineer had taken it up by ``at`` (the generator's adoption model)."""
    if team.adoption is None or eng.ai_lag is None:
        return ""
    return team.tool if at >= team.adoption + timedelta(days=eng.ai_lag) else ""


def _surveys(
    rng: random.Random,
    start: datetime,
    end: datetime,
    teams: list[_Team],
    engineers: list[_Engineer],
    used: dict[tuple[date, str], set[str]],
) -> dict[str, list]:
    moods = {t.name: rng.gauss(0, 0.35) for t in teams}
    rounds: dict[str, list[SurveyResponseRecord]] = {}
    for month in _months(start, end):
        opened = _first_monday(month)
        if opened < start or opened > end - timedelta(days=5):
            continue  # a round needs its week inside the data
        name = f"Developer pulse, {month:%B %Y}"
        answers = []
        for eng in engineers:
            team = eng.team_at(opened)
            if team is None or rng.random() > RESPONSE_P:
                continue
            tools = [t for (m, t), logins in sorted(used.items()) if m == month and eng.ident.login in logins]
            tool = tools[0] if tools else _uses(eng, teams[team], opened)
            at = opened + timedelta(hours=rng.uniform(0, 96))
            mood = moods[teams[team].name]
            answers.append(_answer(rng, eng, teams[team], mood, tool, f"{month:%Y-%m}", at))
        if answers:
            rounds[name] = answers
    return rounds


def _seats(
    rng: random.Random, prs: list[_PR], engineers: list[_Engineer], used: dict[tuple[date, str], set[str]]
) -> tuple[list[AISeatRecord], list[SeatCountRecord]]:
    first: dict[str, datetime] = {}
    for pr in sorted(prs, key=lambda p: p.created):
        if pr.ai and pr.tool == API_SEATS and not pr.is_bot:
            first.setdefault(pr.author.login, pr.created)
    seats = []
    for eng in engineers:
        if eng.ident.login in first:
            left = eng.spans[-1][2]
            assigned = first[eng.ident.login] - timedelta(days=rng.randint(1, 10))
            seats.append(
                AISeatRecord(
                    tool=API_SEATS, user=eng.ident, assigned_at=assigned, plan="business", cancelled_at=left
                )
            )
    counts = [
        SeatCountRecord(tool=tool, month=month, seats=len(logins) + rng.randint(0, 2))
        for (month, tool), logins in sorted(used.items())
        if tool != API_SEATS
    ]
    return seats, counts


def build_extras(
    seed: int, start: datetime, end: datetime, teams: list[_Team], engineers: list[_Engineer], prs: list[_PR]
) -> DemoExtras:
    rng = random.Random(f"{seed}:surveys-and-seats")  # noqa: S311 - its own stream: the PRs stay the same
    used = _ai_tools_by_month(prs)
    surveys = _surveys(rng, start, end, teams, engineers, used)
    seats, counts = _seats(rng, prs, engineers, used)
    prices = {tool: SEAT_PRICES[tool] for tool in sorted({t for _, t in used} | {API_SEATS})}
    truth = {
        "survey_rounds": len(surveys),
        "survey_responses": sum(len(a) for a in surveys.values()),
        "survey_response_probability": RESPONSE_P,
        "satisfaction_mean": SATISFACTION_MEAN,
        "ai_hours_saved_median": AI_HOURS_MEDIAN,
        "seat_prices": prices,
        "seat_assignments": {API_SEATS: len(seats)},
        "seat_months": {t: sum(c.seats for c in counts if c.tool == t) for t in {c.tool for c in counts}},
    }
    return DemoExtras(surveys=surveys, seats=seats, seat_counts=counts, prices=prices, truth=truth)
