"""Issue 15, finding 1: one stored far-future or far-past date must not stop every later recompute.

The rows are written straight through the ORM, as an older version, a connector bug or a hand edit
could have left them: the importers reject such dates, the recomputes must still treat them as unknown.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command

from metrics.analytics.surveys import survey_trend
from metrics.core.models import Person, TeamMembership
from metrics.ingestion import ai_selectors, selectors
from metrics.ingestion.impact import ai_impact_recompute
from metrics.ingestion.models import (
    AISeat,
    AIUsageDay,
    Deployment,
    MetricSnapshot,
    PullRequest,
    SurveyResponse,
    SurveyRound,
)
from metrics.ingestion.snapshots import snapshots_recompute
from metrics.ingestion.surveys import survey_frame, survey_round_results
from tests.factories import make_repository, make_team

pytestmark = pytest.mark.django_db

FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)
GOOD_CSV = "repository,number,title,author,created_at,merged_at,additions,deletions,ai_tool\n" + "".join(
    f"acme/api,{n},PR {n},{'ada' if n % 2 else 'bob'},2024-05-{n:02d}T09:00:00Z,2024-05-{n:02d}T15:00:00Z,"
    f"{n * 3},{n},{'claude' if n % 3 == 0 else ''}\n"
    for n in range(1, 21)
)


@pytest.fixture
def imported(tmp_path: Path) -> None:
    path = tmp_path / "prs.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    call_command("import_prs", str(path), stdout=StringIO(), stderr=StringIO())


def _poison() -> PullRequest:
    """A PR merged in year 9999, one opened in year 1, and far dates on every other dated kind of row."""
    repository = make_repository(full_name="evil/repo")
    author = Person.objects.create(display_name="Mallory")
    TeamMembership.objects.create(
        person=author, team=make_team(name="Night shift"), start=FAR_PAST, end=FAR_FUTURE
    )
    Deployment.objects.create(
        repository=repository,
        external_id="d1",
        environment="production",
        is_production=True,
        sha="a" * 40,
        status="success",
        created_at=FAR_FUTURE,
    )
    AISeat.objects.create(
        tool="Claude Code",
        user_key="login:mallory",
        person=author,
        assigned_at=FAR_PAST,
        cancelled_at=FAR_FUTURE,
    )
    survey_round = SurveyRound.objects.create(name="Q2", opened_at=datetime(2024, 4, 1, tzinfo=UTC))
    AIUsageDay.objects.create(tool="Claude Code", user_key="login:mallory", person=author, day=date.max)
    SurveyResponse.objects.create(
        survey_round=survey_round,
        external_id="x",
        person=author,
        submitted_at=FAR_FUTURE,
        ai_tool="claude",
        ai_hours_saved_per_week=3.0,
    )
    PullRequest.objects.create(
        repository=repository,
        number=2,
        title="ancient",
        author=author,
        state="merged",
        created_at=FAR_PAST,
        first_commit_at=FAR_PAST,
        merged_at=FAR_PAST,
    )
    return PullRequest.objects.create(
        repository=repository,
        number=1,
        title="from the future",
        author=author,
        state="merged",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        first_commit_at=datetime(2024, 4, 30, tzinfo=UTC),
        merged_at=FAR_FUTURE,
        ai_assisted=True,
        ai_tools=["claude"],
        additions=10,
        deletions=1,
    )


def test_pull_request_frame_reads_far_dates_as_unknown(imported: None) -> None:
    poisoned = _poison()
    frame = selectors.pull_request_frame().set_index("id")
    assert frame.loc[poisoned.pk, "merged_at"] is pd.NaT
    assert frame.loc[poisoned.pk, "created_at"] == datetime(2024, 5, 1, tzinfo=UTC)
    assert frame["merged_at"].notna().sum() == 20  # the 20 good PRs keep theirs


def test_snapshot_and_ai_impact_recompute_survive_a_poisoned_row(imported: None) -> None:
    snapshots_recompute()
    before = MetricSnapshot.objects.filter(metric="merged_prs", scope="organization").count()
    _poison()
    assert snapshots_recompute() > 0
    counts = ai_impact_recompute()
    assert counts["estimates"] > 0
    # The far-future merge is unknown, so it adds no week (no snapshot in year 9999).
    assert not MetricSnapshot.objects.filter(period_start__gt=date(2100, 1, 1)).exists()
    assert MetricSnapshot.objects.filter(metric="merged_prs", scope="organization").count() == before


def test_import_after_a_poisoned_row_still_succeeds(imported: None, tmp_path: Path) -> None:
    _poison()
    path = tmp_path / "more.csv"
    path.write_text(GOOD_CSV.replace("PR 1,", "PR one,"), encoding="utf-8")
    out = StringIO()
    call_command("import_prs", str(path), stdout=out, stderr=StringIO())
    assert "0 new, 20 updated" in out.getvalue()


def test_other_frames_read_far_dates_as_unknown(imported: None) -> None:
    _poison()
    memberships = selectors.membership_frame()
    assert memberships["start"].isna().all() and memberships["end"].isna().all()  # open at both ends
    assert selectors.deployment_frame().empty  # a deployment in year 9999 did not happen
    assert len(ai_selectors.seat_months_frame()) == 1  # not 120,000 months: held from now to now
    assert ai_selectors.usage_day_frame().empty and ai_selectors.tool_users_frame().empty
    assert ai_selectors.survey_hours_frame().empty
    responses = survey_frame()
    assert responses["submitted_at"].isna().all()
    survey_round = SurveyRound.objects.get()
    assert survey_round_results(survey_round=survey_round, min_size=1) is not None
    survey_trend(responses, by="round", min_size=1)


def test_frames_read_in_chunks_equal_one_frame(imported: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks (to bound memory on large histories) must give what one ``from_records`` of every row gives,
    dtypes included: a chunk whose column is all None, text columns, nullable numbers."""
    repository = make_repository(full_name="acme/teamed", team=make_team(name="Owners"))
    for number in (1, 2, 3, 4):
        PullRequest.objects.create(
            repository=repository,
            number=number,
            title=f"t{number}",
            state="open",
            created_at=datetime(2024, 6, number, tzinfo=UTC),
        )
    columns = [*selectors.PR_COLUMNS, "repository__team_id"]
    rows = list(PullRequest.objects.order_by("id").values_list(*columns))
    one = selectors._typed(pd.DataFrame.from_records(rows, columns=columns))
    monkeypatch.setattr(selectors, "FRAME_CHUNK", 3)
    chunked = selectors.pull_request_frame(columns=columns)
    assert len(one) == 24
    pd.testing.assert_frame_equal(chunked, one.rename(columns={"repository__team_id": "repository_team_id"}))
