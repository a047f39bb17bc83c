"""The PR explorer's page numbers and phase sorts, and a PR's own page at its permanent address (issue
16, item 6): timeline, AI evidence, reverts, host link; names only where the access object allows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from metrics.ingestion.models import PullRequest, Revert
from metrics.web import pr_queries
from tests.web.conftest import Org, at, make_pr
from tests.web.test_prs import refs


def _pickup(org: Org, hours: dict[str, float]) -> None:
    for key, value in hours.items():
        pr = org.prs[key]
        PullRequest.objects.filter(pk=pr.pk).update(first_review_at=pr.created_at + dt.timedelta(hours=value))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # Longest pickup first; equal spans newest id first; a negative span (unknown) last either way.
        ("-pickup", ["acme/api#3", "acme/web#1", "acme/api#7", "acme/web#2", "acme/web#4", "acme/web#6"]),
        ("pickup", ["acme/web#4", "acme/api#7", "acme/web#2", "acme/web#1", "acme/api#3", "acme/web#6"]),
    ],
)
def test_sort_by_a_phase(admin_client: Client, org: Org, sort: str, expected: list[str]) -> None:
    _pickup(org, {"bob": 30, "alice_ai": 10, "carol": 1, "dave_may": -2})
    html = admin_client.get(f"/prs/?state=merged&sort={sort}").content.decode()
    assert refs(html) == expected
    assert "pickup 30.0 h" in html and "pickup unknown" in html  # the sorted phase's value on each row


def test_phase_sort_links(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/prs/?team=checkout").content.decode()
    for key in ("coding", "pickup", "rework", "merge_wait"):
        assert f'href="?team=checkout&amp;sort=-{key}"' in html
    again = admin_client.get("/prs/?team=checkout&sort=-pickup").content.decode()
    assert 'href="?team=checkout&amp;sort=pickup"' in again  # the current one flips to ascending
    assert admin_client.get("/prs/?sort=-nonsense").status_code == 400


@pytest.mark.parametrize(
    ("page", "numbers"),
    [
        (1, ["1", "2", "3", "…", "7"]),
        (4, ["1", "2", "3", "4", "5", "6", "7"]),
        (7, ["1", "…", "5", "6", "7"]),
    ],
)
def test_page_numbers(
    admin_client: Client, org: Org, monkeypatch: pytest.MonkeyPatch, page: int, numbers: list[str]
) -> None:
    monkeypatch.setattr(pr_queries, "PAGE_SIZE", 1)
    html = admin_client.get(f"/prs/?sort=size&page={page}").content.decode()
    start = html.index('class="page-numbers"')
    pager = html[start : html.index("</nav>", start)]
    shown = re.findall(r">(\d+|…)</(?:a|span)>", pager)
    assert shown == numbers
    assert f'aria-current="page">{page}<' in pager
    assert f"{page}\u2013{page} of 7" in pager
    if page == 1:
        assert 'href="?sort=size&amp;page=7"' in pager


def test_rows_link_to_the_permanent_page_and_the_host(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/prs/").content.decode()
    assert 'href="/prs/acme/web/1/"' in html and 'href="/prs/acme/api/3/"' in html
    assert 'href="https://github.example/acme/web/pull/1"' in html


def test_pr_page_timeline_evidence_and_host(admin_client: Client, org: Org) -> None:
    response = admin_client.get("/prs/acme/web/1/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Speed up checkout" in html and "acme/web#1" in html
    assert 'href="https://github.example/acme/web/pull/1"' in html
    # The catalog's phases of this PR: 6 h coding, 4 h pickup, 16 h rework, 10 h merge wait, 36 h cycle.
    for text in ("coding 6.0 h", "pickup 4.0 h", "rework 16.0 h", "merge wait 10.0 h"):
        assert text in html
    assert "36.0 h" in html and "Co-authored-by: Claude &lt;noreply@anthropic.com&gt;" in html
    gitlab = admin_client.get("/prs/acme/api/3/").content.decode()
    assert 'href="https://gitlab.example/acme/api/-/merge_requests/3"' in gitlab
    assert admin_client.get("/prs/acme/web/999/").status_code == 404
    assert admin_client.get("/prs/acme/nope/1/").status_code == 404


@pytest.mark.parametrize(
    ("role", "sees_dave"),
    [
        ("admin", True),
        ("product", True),
        ("checkout", False),
        ("executive", False),
        ("viewer", False),
    ],
)
def test_pr_page_names_by_role(clients: dict[str, Client], org: Org, role: str, sees_dave: bool) -> None:
    """Dave's June PR is Search's (he moved on 1 June): Checkout's manager does not see his name there,
    nor the AI evidence's matched text that names him."""
    html = clients[role].get("/prs/acme/api/7/").content.decode()
    assert "Search facets" in html
    assert ("Dave Dorsey" in html) is sees_dave
    assert (">hidden</span>" in html) is not sees_dave
    assert "aider" in html  # the tool and kind are shown to everyone


def test_pr_page_reverts(admin_client: Client, org: Org) -> None:
    reverted = org.prs["alice_reverted"]
    title = 'Revert "Risky cart change"'
    revert = make_pr(org.web, 9, org.alice, merged=at(6), title=title, revert_of=reverted)
    Revert.objects.create(
        repository=org.web,
        revert_sha="abcdef1234567890",
        reverting_pr=revert,
        reverted_pr=reverted,
        reverted_at=at(6),
        evidence="title",
        matched_text='Revert "Risky cart change"',
    )
    html = admin_client.get("/prs/acme/web/2/").content.decode()
    assert "Reverted 2025-06-06" in html and 'href="/prs/acme/web/9/">acme/web#9</a>' in html
    assert "abcdef123456" in html and "reverted</span>" in html
    back = admin_client.get("/prs/acme/web/9/").content.decode()
    assert 'reverts <a href="/prs/acme/web/2/">acme/web#2</a>' in back
    assert "Not reverted." in admin_client.get("/prs/acme/web/1/").content.decode()
