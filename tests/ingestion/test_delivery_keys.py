"""A planted organization with known deployment and incident timelines: every one of DORA's five keys,
stored by the recompute and returned by ``/api/v1/metrics/``, equals its hand-computed value.

Repository ``acme/shop`` (owned by team Checkout, under Engineering), week of Monday 3 March 2025; hours
are from that Monday 00:00 UTC (``h``); every deployment finishes 30 minutes after it starts:

    D1 a1 ok      0.5  ships PR1 (first commit -10.5 -> lead 11.0); PR1 reverted by PR7 -> D1 failed
    D2 b2 ok     24.5  ships PR2 (lead 19.5), PR3 (AI, lead 24.5); incidents I1 26-30 and I2 28-33
                        (overlapping, linked "last before") -> failed, recovery 26 -> 33 = 7 h
    D3 c3 ok     48.5  ships PR4 (hotfix/ branch, lead 8.5), PR7 (revert of PR1, lead 4.5): rework
    D4 d4 ok     72.5  ships PR5 (lead 12.5) and a bot PR (not counted); next is a rollback -> failed,
                        recovery 72.5 -> 75.5 = 3 h
    D5 c3 ok     75.5  rollback to D3's commit: rework
    D6 e5 failed 96.5  status failure -> failed, recovery 96.5 -> 100.5 = 4 h
    D7 e5 ok    100.5  ships PR6 (lead 20.5); redeploys a commit only a failed deployment had: no rollback
    a staging deployment and an in-progress production one: not production deployments
    I3 on acme/other (no deployments) and I4 with an unmapped service: linked to nothing, counted nowhere

D1's recovery: it failed through PR1's revert, recovered at the next successful deployment D2: 24 h.

    deployment_frequency      6 (D1 D2 D3 D4 D5 D7)                           n 6
    change_failure_rate       4 / 7 (D1 D2 D4 D6)                             n 7
    deployment_rework_rate    2 / 6 (D3 D5)                                   n 6
    recovery p50, p90         of [3, 4, 7, 24]: 5.5, 7 + 0.7 * 17 = 18.9      n 4
    lead time p50, p75, p90   of [4.5, 8.5, 11, 12.5, 19.5, 20.5, 24.5]: 12.5, 20.0, 22.1       n 7
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from connectors.records import DeploymentRecord, IdentityRecord, IncidentRecord, PullRequestRecord
from metrics.core.models import Repository, Team
from metrics.ingestion.models import DeliverySplit, Incident, MetricSnapshot
from metrics.ingestion.services import records_ingest
from metrics.ingestion.snapshots import snapshots_recompute

pytestmark = pytest.mark.django_db
MONDAY = datetime(2025, 3, 3, tzinfo=UTC)
SHOP = "acme/shop"


def h(hours: float) -> datetime:
    return MONDAY + timedelta(hours=hours)


def deployment(ext: str, at: float, sha: str, status: str = "success", env: str = "production"):
    return DeploymentRecord(
        repository=SHOP,
        external_id=ext,
        environment=env,
        sha=sha * 20,
        status=status,
        created_at=h(at - 0.5),
        finished_at=h(at),
        is_production=env == "production",
        source="file",
    )


def pr(number: int, first: float, merged: float, *, who: str = "ana", **kw) -> PullRequestRecord:
    return PullRequestRecord(
        repository=SHOP,
        number=number,
        title=kw.pop("title", f"Change {number}"),
        author=IdentityRecord(login=who),
        state="merged",
        created_at=h(first + 0.1),
        first_commit_at=h(first),
        merged_at=h(merged),
        head_branch=kw.pop("head_branch", f"{who}/change-{number}"),
        base_branch="main",
        **kw,
    )


def planted() -> list:
    return [
        pr(1, -10.5, -2),
        pr(2, 5, 20),
        pr(3, 0, 21, ai_tool="claude"),
        pr(4, 40, 47, head_branch="hotfix/checkout-timeout"),
        pr(7, 44, 45, title="Revert change 1", reverts_number=1),
        pr(5, 60, 70),
        pr(8, 0, 71, who="dependabot[bot]"),
        pr(6, 80, 90),
        deployment("D1", 0.5, "a1"),
        deployment("D2", 24.5, "b2"),
        deployment("D3", 48.5, "c3"),
        deployment("D4", 72.5, "d4"),
        deployment("D5", 75.5, "c3"),
        deployment("D6", 96.5, "e5", status="failure"),
        deployment("D7", 100.5, "e5"),
        deployment("S1", 10, "f6", env="staging"),
        deployment("D8", 110, "f7", status="in_progress"),
        IncidentRecord("pagerduty", "I1", h(26), resolved_at=h(30), repository=SHOP, severity="SEV2"),
        IncidentRecord("pagerduty", "I2", h(28), resolved_at=h(33), repository=SHOP, severity="SEV1"),
        IncidentRecord("pagerduty", "I3", h(50), resolved_at=h(51), repository="acme/other"),
        IncidentRecord("opsgenie", "I4", h(52), resolved_at=h(53), service="unmapped"),
        # a PR a month later elsewhere: the data runs through 4 April, so the week's window has closed
        PullRequestRecord(
            repository="acme/other",
            number=1,
            title="Later",
            author=IdentityRecord(login="bo"),
            state="merged",
            created_at=h(24 * 31),
            merged_at=h(24 * 32),
        ),
    ]


EXPECTED = {
    "deployment_frequency": (6.0, 6),
    "change_failure_rate": (4 / 7, 7),
    "deployment_rework_rate": (2 / 6, 6),
    "failed_deployment_recovery_time_p50": (5.5, 4),
    "failed_deployment_recovery_time_p90": (18.9, 4),
    "lead_time_for_changes_p50": (12.5, 7),
    "lead_time_for_changes_p75": (20.0, 7),
    "lead_time_for_changes_p90": (22.1, 7),
}


def planted_organization(*others: str) -> Team:
    """The planted records stored under Engineering > Checkout (which owns the shop), teams named ``others``
    beside them, the snapshots recomputed; returns Checkout."""
    records_ingest(records=planted())
    engineering = Team.objects.create(name="Engineering", slug="engineering")
    checkout = Team.objects.create(name="Checkout", slug="checkout", parent=engineering)
    for name in others:
        Team.objects.create(name=name, slug=name.lower())
    Repository.objects.filter(full_name=SHOP).update(team=checkout)
    snapshots_recompute()
    return checkout


@pytest.fixture
def organization() -> Team:
    return planted_organization()


def test_incident_links(organization: Team) -> None:
    got = {
        i.external_id: (i.deployment.external_id if i.deployment else None, i.link)
        for i in Incident.objects.all()
    }
    assert got == {
        "I1": ("D2", "last_before"),
        "I2": ("D2", "last_before"),
        "I3": (None, "none"),
        "I4": (None, "none"),
    }


@pytest.mark.parametrize("scope", ["organization", "repository", "team:checkout", "team:engineering"])
@pytest.mark.parametrize("period", ["week", "month"])
def test_every_key_equals_its_hand_computed_value(organization: Team, scope: str, period: str) -> None:
    rows = MetricSnapshot.objects.filter(metric__in=EXPECTED, period=period)
    if scope == "organization":
        rows = rows.filter(scope="organization")
    elif scope == "repository":
        rows = rows.filter(scope="repository", repository__full_name=SHOP)
    else:
        rows = rows.filter(scope="team", team__slug=scope.split(":")[1])
    got = {r.metric: (r.value, r.n, r.period_start) for r in rows}
    start = MONDAY.date() if period == "week" else MONDAY.date().replace(day=1)
    assert set(got) == set(EXPECTED)
    for metric, (value, n) in EXPECTED.items():
        assert got[metric][0] == pytest.approx(value, abs=1e-9), metric
        assert got[metric][1:] == (n, start), metric


def test_the_metrics_api_returns_the_keys(organization: Team, admin_client: Client) -> None:
    response = admin_client.get("/api/v1/metrics/?team=checkout&period=week&metric=change_failure_rate")
    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert (row["metric"], row["n"]) == ("change_failure_rate", 7)
    assert row["value"] == pytest.approx(4 / 7)
    response = admin_client.get("/api/v1/metrics/?scope=organization&period=week&metric=deployment_frequency")
    assert [r["value"] for r in response.json()["results"]] == [6.0]


def test_the_ai_split_is_stored(organization: Team) -> None:
    """D2 shipped the one AI-assisted PR (PR3): it is the AI group; the other six are the rest."""
    rows = {(r.key, r.method, r.group): (r.value, r.n, r.status) for r in DeliverySplit.objects.all()}
    assert rows[("deployment_frequency", "group", "ai")] == (1.0, 1, "ok")
    assert rows[("change_failure_rate", "group", "ai")] == (1.0, 1, "ok")
    assert rows[("lead_time_for_changes_p50", "group", "ai")] == (24.5, 1, "ok")
    assert rows[("failed_deployment_recovery_time_p50", "group", "ai")] == (7.0, 1, "ok")
    assert rows[("deployment_frequency", "group", "rest")] == (5.0, 5, "ok")
    assert rows[("change_failure_rate", "group", "rest")] == (0.5, 6, "ok")  # D1 D4 D6 of D1 D3-D7
    assert rows[("deployment_rework_rate", "group", "rest")] == (0.4, 5, "ok")
    assert rows[("lead_time_for_changes_p50", "group", "rest")] == (11.75, 6, "ok")
    assert rows[("failed_deployment_recovery_time_p50", "group", "rest")] == (4.0, 3, "ok")
    adjusted = rows[("change_failure_rate", "adjusted", "")]
    assert adjusted == (None, 7, "not enough data")
