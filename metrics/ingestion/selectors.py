"""Selectors: the only place ORM rows become pandas DataFrames.

Every stored moment passes through :func:`believable_times`: one far-future or far-past date (year 9999
or 1, from a forged commit or an older import) would overflow pandas' timestamps or stretch a period
range over millennia and stop every recompute, so such a moment is read as unknown (NaT), the same rule
the importers apply (connectors/timebounds.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

import numpy as np
import pandas as pd
from django.db import connection, models
from django.db.models import F, Func, Q, QuerySet

from connectors import timebounds
from connectors.records import PR_SHAPE, PR_TIMES
from metrics.analytics import ai_detection
from metrics.core.models import Person, Team, TeamMembership
from metrics.ingestion.models import (
    AIEvidence,
    Commit,
    Deployment,
    Incident,
    PullRequest,
    Review,
)

PR_COLUMNS = [
    "id",
    "repository_id",
    "number",
    "title",
    "author_id",
    "state",
    "is_draft",
    *PR_TIMES,
    *PR_SHAPE,
    "is_bot",
    "ai_assisted",
    "revert_of_id",
    "reverted_at",
    "labels",
]
FRAME_CHUNK = 20_000
# What every frame of PRs a computation reads starts with: the PR, where, by whom, its state and class.
PR_KEY_COLUMNS = ["id", "repository_id", "author_id", "state", "is_bot", "ai_assisted"]
# Every moment of a PR: the "_at" columns, in PR_COLUMNS order.
DATE_COLUMNS = [c for c in PR_COLUMNS if c.endswith("_at")]


def believable_times(values: Iterable[object] | pd.Series) -> pd.Series:
    """tz-aware UTC moments; one outside the believed range (before 1970, or more than a day from now)
    is unknown (NaT) rather than an error, so that one row cannot poison a recompute."""
    times = pd.Series(pd.to_datetime(values, utc=True, errors="coerce"))
    far = (times < pd.Timestamp(timebounds.EARLIEST)) | (times > pd.Timestamp(timebounds.latest()))
    # One unit (what the database holds), also for a column that is all unknown.
    return times.mask(far).astype("datetime64[us, UTC]")


def believable_rows(field: str) -> Q:
    """Rows whose ``field`` (a date or a moment that is the row's reason to exist: a usage day, a
    deployment, a survey answer) is in the believed range; rows outside it are left out."""
    return Q(**{f"{field}__gte": timebounds.EARLIEST, f"{field}__lte": timebounds.latest()})


def _frame(rows: Iterable[tuple], columns: list[str]) -> pd.DataFrame:
    """The rows as a frame, read ``FRAME_CHUNK`` at a time.

    A list of every row as Python tuples took several times the frame's own memory; and each chunk's
    text and nullable-number columns, kept as Python objects, pinned the memory of the chunk's freed
    datetimes (fragmentation): those columns are compact (category, float) per chunk and restored after
    the chunks are joined.  The result equals one ``from_records`` of all the rows.
    """
    if isinstance(rows, QuerySet):
        rows = rows.iterator(chunk_size=FRAME_CHUNK)
    iterator = iter(rows)
    parts = []
    while chunk := list(islice(iterator, FRAME_CHUNK)):
        parts.append(_compact(_typed(pd.DataFrame.from_records(chunk, columns=columns))))
    if not parts:
        return _typed(pd.DataFrame.from_records([], columns=columns))
    frame = pd.concat(parts, ignore_index=True)
    del parts
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            frame[column] = values.astype(object).infer_objects()
        elif values.dtype == object and values.notna().any():
            # A chunk whose column is all None is of dtype object: infer again what one frame would.
            frame[column] = values.infer_objects()
    return frame


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if column in DATE_COLUMNS or column.endswith("_at") or column in ("start", "end"):
            frame[column] = believable_times(frame[column])
    return frame


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        values = frame[column]
        if not values.notna().any():
            continue  # all None: nothing is pinned, and one frame would keep it as object
        if pd.api.types.is_string_dtype(values.dtype) and values.map(_is_text).all():
            frame[column] = values.astype("category")
        elif values.dtype == object and values.map(_is_number).all():
            frame[column] = values.astype("float64")  # ints and None: what one frame infers
    return frame


def _is_text(value: object) -> bool:
    return value is None or isinstance(value, str) or (isinstance(value, float) and value != value)


def _is_number(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def pull_request_frame(
    *, repository_ids: list[int] | None = None, columns: list[str] | None = None, where: Q | None = None
) -> pd.DataFrame:
    """One row per PR (of ``repository_ids``, matching ``where``); datetimes are tz-aware UTC."""
    columns = columns or PR_COLUMNS
    qs = PullRequest.objects.all() if where is None else PullRequest.objects.filter(where)
    if repository_ids is not None:
        qs = qs.filter(repository_id__in=repository_ids)
    moments = [c for c in columns if c in PR_MOMENTS] if connection.vendor == "postgresql" else []
    if moments:  # read as integers (microseconds since 1970): Django's time-zone loader took most of the time
        qs = qs.annotate(**{f"{c}{EPOCH_SUFFIX}": _epoch_microseconds(c) for c in moments})
    read = [f"{c}{EPOCH_SUFFIX}" if c in moments else c for c in columns]
    frame = _frame(qs.order_by("id").values_list(*read), read)
    for c in moments:
        frame[f"{c}{EPOCH_SUFFIX}"] = _from_epoch_microseconds(frame[f"{c}{EPOCH_SUFFIX}"])
    frame.columns = columns
    # ``repository__team_id`` (the repository's owning team) reads better without the ORM path.
    return frame.rename(columns={"repository__team_id": "repository_team_id"})


PR_MOMENTS = {f.name for f in PullRequest._meta.get_fields() if isinstance(f, models.DateTimeField)}
EPOCH_SUFFIX = "_epoch_us"


def _epoch_microseconds(column: str) -> Func:
    """The moment as microseconds since 1970 (exact: PostgreSQL's EXTRACT is a numeric)."""
    return Func(
        F(column),
        template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint",
        output_field=models.BigIntegerField(),
    )


def _from_epoch_microseconds(values: pd.Series) -> pd.Series:
    """Microseconds since 1970 (None/NaN: unknown) as :func:`believable_times` gives the moments."""
    numbers = pd.to_numeric(values).to_numpy(dtype="float64")  # exact: below 2**53
    missing = np.isnan(numbers)
    moments = np.where(missing, 0, numbers).astype(np.int64).astype("datetime64[us]")
    moments[missing] = np.datetime64("NaT")
    return believable_times(pd.Series(moments, index=values.index).dt.tz_localize("UTC"))


DEPLOYMENT_COLUMNS = [
    "id",
    "repository_id",
    "external_id",
    "environment",
    "sha",
    "created_at",
    "finished_at",
    "status",
    "is_production",
    "repository__team_id",
]
INCIDENT_COLUMNS = [
    "id",
    "source",
    "external_id",
    "repository_id",
    "started_at",
    "resolved_at",
    "severity",
    "deployment_id",
    "link",
]


def deployment_frame(*, repository_ids: list[int] | None = None) -> pd.DataFrame:
    """Every deployment (``DEPLOYMENT_COLUMNS``; the repository's owning team as ``repository_team_id``)."""
    qs = Deployment.objects.filter(believable_rows("created_at"))
    if repository_ids is not None:
        qs = qs.filter(repository_id__in=repository_ids)
    frame = _frame(qs.order_by("id").values_list(*DEPLOYMENT_COLUMNS), DEPLOYMENT_COLUMNS)
    return frame.rename(columns={"repository__team_id": "repository_team_id"})


def incident_frame(*, repository_ids: list[int] | None = None) -> pd.DataFrame:
    """Every incident (``INCIDENT_COLUMNS``) with its linked deployment."""
    qs = Incident.objects.filter(believable_rows("started_at"))
    if repository_ids is not None:
        qs = qs.filter(repository_id__in=repository_ids)
    return _frame(qs.order_by("id").values_list(*INCIDENT_COLUMNS), INCIDENT_COLUMNS)


def commit_frame(*, repository_id: int, columns: list[str]) -> pd.DataFrame:
    qs = Commit.objects.filter(repository_id=repository_id).order_by("id").values_list(*columns)
    return _frame(qs, columns)


def pr_commit_frame(*, repository_id: int) -> pd.DataFrame:
    """(pr_id, number, sha, subject) for every commit linked to a PR of the repository."""
    through = PullRequest.commits.through
    rows = through.objects.filter(pullrequest__repository_id=repository_id).values_list(
        "pullrequest_id", "pullrequest__number", "commit__sha", "commit__message"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["pr_id", "number", "sha", "subject"])
    frame["subject"] = frame["subject"].str.split("\n", n=1).str[0].str.strip()
    return frame


def ai_evidence_frame(*, repository_id: int, pr_ids: list[int] | None = None) -> pd.DataFrame:
    """(pr_id, tool, kind) for the PRs' own evidence and the evidence of their commits (of the PRs
    ``pr_ids`` only, when given).

    A commit can belong to several PRs (stacked branches); each of them gets its evidence.
    """
    own = AIEvidence.objects.filter(pull_request__repository_id=repository_id)
    via_commits = PullRequest.commits.through.objects.filter(
        pullrequest__repository_id=repository_id, commit__ai_evidence__isnull=False
    )
    if pr_ids is not None:
        own = own.filter(pull_request_id__in=pr_ids)
        via_commits = via_commits.filter(pullrequest_id__in=pr_ids)
    own = own.values_list("pull_request_id", "tool", "kind")
    via_commits = via_commits.values_list(
        "pullrequest_id", "commit__ai_evidence__tool", "commit__ai_evidence__kind"
    )
    return pd.DataFrame.from_records([*own, *via_commits], columns=["pr_id", "tool", "kind"])


def person_frame() -> pd.DataFrame:
    return pd.DataFrame.from_records(
        list(Person.objects.values_list("id", "display_name", "is_bot")),
        columns=["person_id", "name", "is_bot"],
    )


def membership_frame() -> pd.DataFrame:
    """(person_id, team_id, start, end) with NaT for open ends."""
    rows = TeamMembership.objects.values_list("person_id", "team_id", "start", "end")
    # A far start or end reads as unknown, i.e. open: "since always" / "still a member".
    return _frame(rows, ["person_id", "team_id", "start", "end"])


def team_frame() -> pd.DataFrame:
    return pd.DataFrame.from_records(
        list(Team.objects.values_list("id", "name", "slug", "parent_id")),
        columns=["team_id", "name", "slug", "parent_id"],
    )


def evidence_kind_frame() -> pd.DataFrame:
    """(id, kind): each PR with each kind of AI evidence it has, its own or its commits'."""
    own = AIEvidence.objects.filter(pull_request__isnull=False).values_list("pull_request_id", "kind")
    via_commits = PullRequest.commits.through.objects.filter(commit__ai_evidence__isnull=False).values_list(
        "pullrequest_id", "commit__ai_evidence__kind"
    )
    return pd.DataFrame.from_records([*own, *via_commits], columns=["id", "kind"]).drop_duplicates()


def person_team_map() -> dict[int, int]:
    """person id -> the team of their most recent open membership (for monthly usage and surveys)."""
    rows = (
        TeamMembership.objects.filter(end__isnull=True).order_by("start").values_list("person_id", "team_id")
    )
    return dict(rows)


# --- Issue 17: agent-authored PRs and review load -------------------------------------------------------


def pr_tools(ids: pd.Series) -> pd.Series:
    """The AI tools (``ai_tools``) of the PRs ``ids``, indexed like them: the list where a PR names any,
    None where it names none (a million PRs' empty lists took ~100 MB with the memory they pinned)."""
    rows = PullRequest.objects.exclude(ai_tools=[]).values_list("id", "ai_tools")
    found = dict(rows.iterator(chunk_size=FRAME_CHUNK))
    return pd.Series([found.get(i) for i in ids], index=ids.index, dtype=object)


def agent_pr_frame() -> pd.DataFrame:
    """(id, agent_tool): the PRs a coding agent opened, from their *own* evidence (``is_agent_evidence``:
    agent author, agent branch, agent label, agent session link or telemetry); commits' trailers never
    make an agent PR."""
    rows = AIEvidence.objects.filter(pull_request__isnull=False).values_list(
        "pull_request_id", "tool", "kind", "matched_text"
    )
    found: dict[int, str] = {}
    for pr_id, tool, kind, text in rows.iterator(chunk_size=FRAME_CHUNK):
        if ai_detection.is_agent_evidence(kind, text) and (
            pr_id not in found or found[pr_id] == "unspecified"
        ):
            found[pr_id] = tool
    return pd.DataFrame({"id": list(found), "agent_tool": list(found.values())})


def review_frame() -> pd.DataFrame:
    """(pr_id, reviewer_id, state, submitted_at): every review submission, moments in UTC."""
    rows = Review.objects.filter(believable_rows("submitted_at")).values_list(
        "pull_request_id", "reviewer_id", "state", "submitted_at"
    )
    return _frame(rows, ["pr_id", "reviewer_id", "state", "submitted_at"])
