"""The dose-response estimate from stored line-level attribution: commits' AI lines (Cursor code tracking or
git notes, ``CommitAIAttribution``) -> each PR's AI share -> the ``dose`` estimate per 10 points."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from metrics.core.models import Person, Repository
from metrics.ingestion.impact import ai_impact_recompute, impact_frame
from metrics.ingestion.models import AIImpactEstimate, Commit, CommitAIAttribution, PullRequest

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
SLOPE = -0.08  # log cycle time per 10 points of AI share


def _organization(seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    repo = Repository.objects.create(full_name="acme/api", host="github")
    authors = [Person.objects.create(display_name=f"Engineer {i}") for i in range(12)]
    prs, commits, attributions = [], [], []
    number = 0
    for a, author in enumerate(authors):
        for k in range(24):
            number += 1
            share = float(rng.uniform(0.05, 0.95)) if k % 2 else 0.0
            added = int(rng.integers(40, 400))
            hours = float(np.exp(2.5 + 0.3 * a / 12 + SLOPE * share * 10 + rng.normal(0, 0.3)))
            first = START + dt.timedelta(days=3 * k, hours=a)
            sha = f"{number:040x}"
            prs.append(
                PullRequest(
                    repository=repo,
                    number=number,
                    author=author,
                    state="merged",
                    created_at=first,
                    first_commit_at=first,
                    merged_at=first + dt.timedelta(hours=hours),
                    additions=added,
                    deletions=5,
                    changed_files=3,
                    ai_assisted=share > 0,
                )
            )
            commits.append(
                Commit(repository=repo, sha=sha, author=author, authored_at=first, additions=added)
            )
            # Every PR is attributed (coverage 100%): a third by git notes, the rest by Cursor.
            source = "git-notes" if number % 3 == 0 else "cursor"
            attributions.append(
                CommitAIAttribution(
                    sha=sha, source=source, lines_added=added, ai_lines_added=round(share * added)
                )
            )
    PullRequest.objects.bulk_create(prs)
    Commit.objects.bulk_create(commits)
    CommitAIAttribution.objects.bulk_create(attributions)
    by_number = dict(PullRequest.objects.values_list("number", "id"))
    by_sha = dict(Commit.objects.values_list("sha", "id"))
    through = PullRequest.commits.through
    links = [through(pullrequest_id=by_number[n], commit_id=by_sha[f"{n:040x}"]) for n in by_number]
    through.objects.bulk_create(links)


def test_stored_attribution_gives_each_pr_its_share_and_the_dose_estimate_finds_the_slope() -> None:
    _organization()
    model = impact_frame()
    assert model["ai_share"].notna().all()
    assert model.loc[model["ai"] == 0, "dose"].eq(0).all()
    assert model["dose"].between(0, 10).all() and model["dose"].max() > 8
    ai_impact_recompute(model=model)
    dose = AIImpactEstimate.objects.get(scope="organization", outcome="cycle_time", method="dose")
    truth = float(np.expm1(SLOPE) * 100)  # -7.7% per 10 points
    assert dose.status == "ok" and dose.unit == "pct_per_10_points" and dose.n == 288
    assert dose.ci_low < truth < dose.ci_high and dose.ci_high < 0, (dose.estimate, dose.ci_low, dose.ci_high)


def test_a_pr_mostly_unattributed_has_no_share() -> None:
    _organization()
    first = CommitAIAttribution.objects.order_by("id").first()
    assert first is not None
    CommitAIAttribution.objects.filter(pk=first.pk).update(lines_added=1, ai_lines_added=1)
    Commit.objects.filter(sha=first.sha).update(additions=10_000)  # 1 of 10,000 added lines attributed
    model = impact_frame()
    assert int(model["ai_share"].isna().sum()) == 1
