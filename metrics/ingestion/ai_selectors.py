"""Selectors of AI use and its cost: self-reported hours, tool users and seats per month, telemetry days,
follow-up commits on agent PRs, and each PR's share of AI-written lines.  Every moment passes through
``selectors.believable_times``/``believable_rows`` like the other selectors."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from django.db.models import Q

from connectors import timebounds
from metrics.analytics.surveys import canonical_tool
from metrics.ingestion.models import (
    AIEvidence,
    AISeat,
    AIUsageDay,
    CommitAIAttribution,
    PullRequest,
    SurveyResponse,
)
from metrics.ingestion.selectors import believable_rows, believable_times, person_team_map


def _month(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.start_time.dt.date


def survey_hours_frame() -> pd.DataFrame:
    """(month, tool, team_id, person_id, hours): self-reported AI hours saved per week."""
    rows = (
        SurveyResponse.objects.filter(believable_rows("submitted_at"), ai_hours_saved_per_week__isnull=False)
        .exclude(ai_tool="")
        .values_list("submitted_at", "ai_tool", "team_id", "person_id", "ai_hours_saved_per_week")
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["month", "tool", "team_id", "person_id", "hours"])
    frame["month"] = _month(pd.to_datetime(frame["month"], utc=True).dt.tz_localize(None))
    frame["tool"] = frame["tool"].map(canonical_tool)
    return frame


def tool_users_frame() -> pd.DataFrame:
    """(month, tool, team_id, person_id): people active with a tool in a month, from telemetry."""
    rows = AIUsageDay.objects.filter(_usage_days(), active=True, person__isnull=False).values_list(
        "day", "tool", "person_id"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["month", "tool", "person_id"])
    frame["month"] = _month(frame["month"])
    frame["tool"] = frame["tool"].map(canonical_tool)
    return frame.drop_duplicates().assign(team_id=lambda f: f["person_id"].map(person_team_map()))


def seat_months_frame() -> pd.DataFrame:
    """(month, tool, team_id, person_id): a seat held during the month, for every month it was held."""
    rows = AISeat.objects.values_list("tool", "person_id", "assigned_at", "cancelled_at")
    frame = pd.DataFrame.from_records(list(rows), columns=["tool", "person_id", "start", "end"])
    if frame.empty:
        return pd.DataFrame(columns=["month", "tool", "team_id", "person_id"])
    now = pd.Timestamp.now(tz="UTC")
    # A far assignment or cancellation is unknown: without this, year 1 to 9999 is 120,000 months a seat.
    start = believable_times(frame["start"]).fillna(now).dt.tz_localize(None).dt.to_period("M")
    end = believable_times(frame["end"]).fillna(now).dt.tz_localize(None).dt.to_period("M")
    frame["month"] = [
        list(pd.period_range(s, e, freq="M").start_time.date) for s, e in zip(start, end, strict=True)
    ]
    frame = frame.explode("month").dropna(subset=["month"])
    frame["tool"] = frame["tool"].map(canonical_tool)
    return frame[["month", "tool", "person_id"]].assign(
        team_id=lambda f: f["person_id"].map(person_team_map())
    )


def _usage_days() -> Q:
    return Q(day__gte=timebounds.EARLIEST.date(), day__lte=timebounds.latest().date())


def usage_day_frame() -> pd.DataFrame:
    """(person_id, day, active): per-person AI telemetry days of any tool."""
    rows = AIUsageDay.objects.filter(_usage_days(), person__isnull=False).values_list(
        "person_id", "day", "active"
    )
    return pd.DataFrame.from_records(list(rows), columns=["person_id", "day", "active"])


def followup_frame(pr_ids: Iterable[int]) -> pd.DataFrame:
    """(pr_id, human_followups): commits on each PR by a non-bot person without AI author evidence,
    authored after the PR was opened (a human finishing an agent's work)."""
    ids = list(pr_ids)
    through = PullRequest.commits.through.objects.filter(pullrequest_id__in=ids)
    rows = through.values_list(
        "pullrequest_id",
        "pullrequest__created_at",
        "commit__authored_at",
        "commit__author__is_bot",
        "commit_id",
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["pr_id", "opened", "authored", "bot", "commit_id"])
    if frame.empty:
        return pd.DataFrame({"pr_id": ids, "human_followups": [0.0] * len(ids)})
    ai_authored = set(
        AIEvidence.objects.filter(commit_id__in=frame["commit_id"].tolist(), kind="author").values_list(
            "commit_id", flat=True
        )
    )
    human = (
        (frame["bot"] == False)  # noqa: E712 (None: no known author, not a human)
        & ~frame["commit_id"].isin(ai_authored)
        & (pd.to_datetime(frame["authored"], utc=True) > pd.to_datetime(frame["opened"], utc=True))
    )
    counts = frame[human].groupby("pr_id").size()
    return pd.DataFrame({"pr_id": ids, "human_followups": [float(counts.get(i, 0)) for i in ids]})


ATTRIBUTION_PRIORITY = ("git-notes", "cursor")  # a commit seen by both: the repository's own notes win
AI_SHARE_COLUMNS = [
    "pr_id",
    "lines_added",
    "attributed_lines",
    "ai_lines_added",
    "ai_share",
    "coverage",
    "source",
]


def pr_ai_share_frame(*, pr_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Each PR's share of added lines written with AI, where line-level data exists (issue 17, item 6).

    One row per PR that has commits: ``lines_added`` (its non-merge commits' added lines), and over the
    commits that a source attributed (``CommitAIAttribution`` joined by SHA; Cursor AI code tracking,
    ``git notes``; one source per commit, ``ATTRIBUTION_PRIORITY``): ``attributed_lines``, ``ai_lines_added``,
    ``ai_share`` = ai_lines_added / attributed_lines (NaN where nothing is attributed), ``coverage`` =
    attributed_lines / lines_added, and ``source`` (the sources used, comma-separated; empty: none).
    """
    through = PullRequest.commits.through
    links = through.objects.filter(commit__is_merge=False)
    if pr_ids is not None:
        links = links.filter(pullrequest_id__in=list(pr_ids))
    rows = list(links.values_list("pullrequest_id", "commit__sha", "commit__additions"))
    commits = pd.DataFrame.from_records(rows, columns=["pr_id", "sha", "additions"])
    if commits.empty:
        return pd.DataFrame(columns=AI_SHARE_COLUMNS)
    shas = sorted(set(commits["sha"]))
    found: list[tuple[str, str, int, int]] = []
    for i in range(0, len(shas), 500):
        found += CommitAIAttribution.objects.filter(sha__in=shas[i : i + 500]).values_list(
            "sha", "source", "lines_added", "ai_lines_added"
        )
    attributed = pd.DataFrame.from_records(found, columns=["sha", "source", "attr_lines", "ai_lines"])
    rank = {name: i for i, name in enumerate(ATTRIBUTION_PRIORITY)}
    attributed["rank"] = attributed["source"].map(rank).fillna(len(rank))
    attributed = attributed.sort_values(["sha", "rank"]).drop_duplicates("sha")
    merged = commits.merge(attributed[["sha", "source", "attr_lines", "ai_lines"]], on="sha", how="left")
    grouped = merged.groupby("pr_id")
    frame = pd.DataFrame(
        {
            "lines_added": grouped["additions"].sum(),
            "attributed_lines": grouped["attr_lines"].sum(min_count=1).fillna(0),
            "ai_lines_added": grouped["ai_lines"].sum(min_count=1).fillna(0),
            "source": grouped["source"].agg(lambda s: ",".join(sorted(set(s.dropna())))),
        }
    ).reset_index()
    frame["ai_share"] = (frame["ai_lines_added"] / frame["attributed_lines"]).where(
        frame["attributed_lines"] > 0
    )
    frame["coverage"] = (frame["attributed_lines"] / frame["lines_added"]).where(frame["lines_added"] > 0)
    return frame[AI_SHARE_COLUMNS]
