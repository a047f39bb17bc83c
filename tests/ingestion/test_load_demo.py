"""``load_demo``: the demo organization stored through records_ingest; Sextant recovers the planted counts.

The demo is loaded once for the module (committed, flushed after it); each test's own writes, a second
load included, are rolled back.  A load into an existing organization: test_load_demo_settings.py."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from metrics.core.models import Identity, Organization, Person, Repository, Team, TeamMembership
from metrics.ingestion.models import AIEvidence, Commit, MetricSnapshot, PullRequest, Revert, Review

pytestmark = pytest.mark.django_db

MODELS = (
    Organization,
    Team,
    Person,
    Identity,
    TeamMembership,
    Repository,
    Commit,
    PullRequest,
    Review,
    Revert,
    AIEvidence,
)


def load(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("load_demo", "--seed", "7", "--small", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def truth() -> dict:
    return Organization.objects.get().settings["demo_truth"]


def table_sizes() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture(scope="module")
def loaded(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The first load's standard output."""
    with django_db_blocker.unblock():
        out, _ = load()
        try:
            yield out
        finally:
            call_command("flush", interactive=False, verbosity=0)


def test_sextant_recovers_the_planted_counts(loaded: str) -> None:
    out = loaded
    counts = truth()["counts"]
    assert truth()["seed"] == 7 and Organization.objects.get().name == "Acme (demo)"
    assert PullRequest.objects.count() == counts["prs"]
    assert PullRequest.objects.filter(state="merged").count() == counts["merged_prs"]
    assert PullRequest.objects.filter(ai_assisted=True).count() == counts["ai_assisted_marked_prs"]
    assert PullRequest.objects.filter(reverted_at__isnull=False).count() == counts["reverts"]
    assert PullRequest.objects.filter(revert_of__isnull=False).count() == counts["reverts"]
    assert PullRequest.objects.filter(state="merged", is_bot=True).count() == counts["merged_prs_bot"]
    assert Commit.objects.count() == counts["commits"] and Review.objects.count() == counts["reviews"]
    assert TeamMembership.objects.count() == counts["memberships"]
    assert Person.objects.filter(is_bot=False).count() == counts["engineers"]
    assert Person.objects.filter(is_bot=True).count() == counts["bots"]
    assert Repository.objects.count() == counts["repositories"]
    roots = Team.objects.filter(parent__isnull=True).values_list("name", flat=True)
    assert set(roots) == {"Platform", "Product"}
    assert f"{counts['merged_prs']} merged" in out and f"{counts['reverts']} reverted PRs" in out
    assert f"{counts['ai_assisted_marked_prs']} AI-assisted PRs detected" in out


def test_unmarked_ai_prs_are_not_detected(loaded: str) -> None:
    unmarked = truth()["unmarked_ai_prs"]
    assert unmarked
    for ref in unmarked:
        repo, number = ref.split("#")
        assert not PullRequest.objects.get(repository__full_name=repo, number=int(number)).ai_assisted


def test_loading_twice_stores_nothing_twice(loaded: str) -> None:
    first = table_sizes()
    first_truth = truth()
    snapshots = MetricSnapshot.objects.count()
    out, _ = load()
    assert table_sizes() == first
    assert truth() == first_truth
    assert MetricSnapshot.objects.count() == snapshots > 0
    assert out.rstrip().endswith(f"; {snapshots} snapshots recomputed.")


def test_if_empty_skips_when_pull_requests_exist(loaded: str) -> None:
    before = table_sizes()
    out, _ = load("--if-empty")
    assert "already stored" in out and "not loaded" in out
    assert table_sizes() == before
