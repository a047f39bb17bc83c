"""The PR explorer: filters, sorting, paging, phase timeline, AI evidence, host links, bad parameters."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from metrics.ingestion.models import PullRequest
from metrics.web import pr_queries
from metrics.web.prs import phases
from tests.web.conftest import Org, at, make_pr


def refs(html: str) -> list[str]:
    return re.findall(r'<tr data-pr="([^"]+)">', html)


def test_lists_human_prs_newest_merge_first_with_host_links(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/prs/").content.decode()
    assert refs(html) == [
        "acme/api#7",
        "acme/web#4",
        "acme/api#3",
        "acme/web#2",
        "acme/web#1",
        "acme/web#6",
        "acme/web#5",
    ]  # merged newest first, the open PR last, the bot PR left out
    assert 'href="https://github.example/acme/web/pull/1"' in html
    assert 'href="https://gitlab.example/acme/api/-/merge_requests/3"' in html
    assert "1\u20137 of 7" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("team=checkout", ["acme/web#2", "acme/web#1", "acme/web#6"]),  # Dave's May PR, not his June one
        ("team=product", ["acme/api#7", "acme/api#3", "acme/web#2", "acme/web#1", "acme/web#6"]),
        ("team=search", ["acme/api#7", "acme/api#3"]),
        ("repository=acme/api", ["acme/api#7", "acme/api#3"]),
        ("ai=yes", ["acme/web#1"]),
        ("reverted=yes", ["acme/web#2"]),
        ("reverted=no&team=checkout", ["acme/web#1", "acme/web#6"]),
        ("size=xl", ["acme/web#2"]),
        ("state=open", ["acme/web#5"]),
        ("merged_from=2025-06-04&merged_to=2025-06-06", ["acme/web#4", "acme/api#3", "acme/web#2"]),
        ("bots=yes&merged_from=2025-06-07&merged_to=2025-06-07", ["acme/web#8"]),
        (
            "sort=size&state=merged",
            ["acme/web#1", "acme/api#3", "acme/web#4", "acme/web#6", "acme/api#7", "acme/web#2"],
        ),
        ("sort=-cycle&team=checkout", ["acme/web#6", "acme/web#2", "acme/web#1"]),
    ],
)
def test_filters_and_sorts(admin_client: Client, org: Org, query: str, expected: list[str]) -> None:
    if "cycle" in query:
        PullRequest.objects.filter(pk=org.prs["dave_may"].pk).update(first_commit_at=at(1, month=5))
    assert refs(admin_client.get(f"/prs/?{query}").content.decode()) == expected


def test_author_filter_for_an_admin(admin_client: Client, org: Org) -> None:
    html = admin_client.get(f"/prs/?author={org.dave.pk}").content.decode()
    assert refs(html) == ["acme/api#7", "acme/web#6"]


def test_phase_timeline_and_ai_evidence(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/prs/?ai=yes").content.decode()
    assert "Co-authored-by: Claude &lt;noreply@anthropic.com&gt;" in html
    assert 'class="badge badge-ai">AI<' in html
    spans = {p["name"]: p["display"] for p in phases(org.prs["alice_ai"])}
    assert spans == {"coding": "6.0 h", "pickup": "4.0 h", "rework": "16.0 h", "merge wait": "10.0 h"}


def test_negative_spans_are_dropped_not_clipped(org: Org) -> None:
    pr = make_pr(org.web, 99, org.alice, merged=at(3), approved_at=at(4))  # approved after the merge
    by_name = {p["name"]: p for p in phases(pr)}
    assert by_name["merge wait"]["hours"] is None and by_name["merge wait"]["display"] == "—"
    assert by_name["rework"]["hours"] is not None


def test_paging(admin_client: Client, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pr_queries, "PAGE_SIZE", 3)
    first = admin_client.get("/prs/").content.decode()
    second = admin_client.get("/prs/?page=2").content.decode()
    assert refs(first) == ["acme/api#7", "acme/web#4", "acme/api#3"]
    assert refs(second) == ["acme/web#2", "acme/web#1", "acme/web#6"]
    assert 'href="?page=2"' in first and "4\u20136 of 7" in second
    past = admin_client.get("/prs/?page=9").content.decode()
    assert "This page is past the last one." in past


def test_count_is_capped(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pr_queries, "COUNT_CAP", 3)
    assert pr_queries.capped_count(PullRequest.objects.all()) == (3, True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=abc", "Invalid page &#x27;abc&#x27;: use a whole number."),
        ("page=0", "Invalid page &#x27;0&#x27;: use a number from 1 to 100000."),
        ("ai=maybe", "Invalid ai &#x27;maybe&#x27;: use yes or no."),
        ("size=huge", "Invalid size &#x27;huge&#x27;"),
        ("sort=title", "Invalid sort &#x27;title&#x27;"),
        ("merged_from=2025-13-01", "Invalid merged_from &#x27;2025-13-01&#x27;"),
        (
            "merged_from=2025-06-10&merged_to=2025-06-01",
            "merged_from 2025-06-10 is after merged_to 2025-06-01",
        ),
        ("repository=acme/nope", "Invalid repository &#x27;acme/nope&#x27;: no repository has this name."),
        ("author=999999", "Invalid author 999999: no person has this id."),
        ("author=x", "Invalid author &#x27;x&#x27;: use a whole number."),
        ("team=nope", "Invalid team &#x27;nope&#x27;"),
    ],
)
def test_bad_parameters_are_400(admin_client: Client, org: Org, query: str, message: str) -> None:
    response = admin_client.get(f"/prs/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_empty_states(admin_client: Client, org: Org) -> None:
    none_match = admin_client.get("/prs/?merged_from=2030-01-01").content.decode()
    assert "No pull requests match" in none_match and "Clear all filters" in none_match
    PullRequest.objects.all().delete()
    nothing = admin_client.get("/prs/").content.decode()
    assert "No pull requests yet" in nothing and 'href="/settings/sources/"' in nothing


@pytest.mark.django_db
def test_filters_round_trip_into_links() -> None:
    from django.http import QueryDict

    f = pr_queries.parse(QueryDict("ai=yes&merged_from=2025-06-01&sort=size&page=3"))
    assert f.query(page="") == {"ai": "yes", "merged_from": "2025-06-01", "sort": "size"}
    assert f.merged_from == dt.date(2025, 6, 1)


def test_the_cycle_time_column_reads_in_one_unit(admin_client: Client, org: Org) -> None:
    """A page with one PR of more than two days shows every cycle time in days (19.7 h above 6.1 d read as
    if the first were larger); a page of short ones stays in hours."""
    cycles = lambda html: re.findall(r'data-label="Cycle time">([^<]+)<', html)  # noqa: E731
    short = cycles(admin_client.get("/prs/?state=merged").content.decode())
    assert short and all(c.endswith(" h") for c in short if c != "—")
    long_one = at(21)
    make_pr(org.web, 990, org.alice, merged=long_one, created_at=long_one - dt.timedelta(days=6))
    mixed = cycles(admin_client.get("/prs/?state=merged").content.decode())
    assert len(mixed) == len(short) + 1 and all(c.endswith(" d") for c in mixed if c != "—")
