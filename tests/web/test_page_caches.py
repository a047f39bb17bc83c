"""The pages cache what they compute from rarely changing data (team tree, filter options, survey scores,
the overview table, a team's figures and people, the AI-impact page) under keys made from the data's
version: after any change, by any write path (``update()`` and raw SQL send no signals), the next request
shows it, inside a transaction (the tests' own) and outside one; and what one role may see never reaches
another through a cache."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection, transaction
from django.test import Client

from metrics.core.models import AITool, Organization, Person, Repository, Team, TeamMembership
from metrics.core.versions import data_version, row_versions
from metrics.ingestion.models import AIImpactEstimate, MetricSnapshot, SurveyResponse, SurveyRound
from metrics.ingestion.surveys import round_version
from metrics.web import display, memo
from metrics.web.templatetags import sextant
from tests.factories import (
    make_response,
    make_round,
    make_series,
    make_snapshot,
    make_team,
    make_team_members,
)
from tests.web.conftest import Org, client_for, make_user, page


def select(html: str, name: str) -> str:
    found = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S)
    return found.group(1) if found else ""


def team_row(html: str, slug: str) -> str:
    return re.search(rf'<tr data-order="\d+" data-team="{slug}">.*?</tr>', html, re.S).group(0)


def org_satisfaction(html: str) -> str:
    row = re.search(r'<tr class="org-row">.*?</tr>', html, re.S).group(0)
    return re.search(r'data-metric="satisfaction".*?<span class="v">(.*?)</span>', row, re.S).group(1)


def recompute(team: Team, metric: str, values: list[float]) -> None:
    """What snapshots_recompute does to the rows: the old ones go, new ones (new ids) come."""
    MetricSnapshot.objects.filter(team=team, metric=metric, period="month").delete()
    make_series(metric=metric, values=values, start=dt.date(2025, 5, 1), period="month", n=42, team=team)


# --- versions ----------------------------------------------------------------------------------------


def _writes_each_change_the_version(org: Org) -> None:
    seen = {data_version(Team, (Person, {"is_bot": True}))}

    def changed() -> None:
        version = data_version(Team, (Person, {"is_bot": True}))
        assert version not in seen
        seen.add(version)

    make_team(name="Growth", slug="growth")
    changed()
    Team.objects.filter(slug="growth").update(name="Growth team")
    changed()
    Team.objects.filter(slug="growth").update(name="Growth")
    if connection.vendor == "postgresql":
        changed()  # a new row version, though the text is back (SQLite digests the contents: the same)
    Team.objects.filter(slug="checkout").update(parent=org.platform)
    changed()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_team SET name = 'Raw' WHERE slug = 'growth'")
    changed()
    before = data_version(Team, (Person, {"is_bot": True}))
    Person.objects.filter(pk=org.carol.pk).update(is_bot=True)  # enters the filtered rows
    changed()
    Person.objects.filter(pk=org.carol.pk).update(is_bot=False)  # leaves them: the rows are as before
    assert data_version(Team, (Person, {"is_bot": True})) == before
    Team.objects.filter(slug="growth").delete()
    changed()
    Person.objects.filter(pk=org.alice.pk).update(display_name="Alice A.")  # not a bot: not a source row
    assert data_version(Team, (Person, {"is_bot": True})) in seen


def test_every_write_changes_the_version_inside_a_transaction(org: Org) -> None:
    # Two writes of one transaction share its xmin: the command id tells them apart.
    assert transaction.get_connection().in_atomic_block
    _writes_each_change_the_version(org)


@pytest.mark.django_db(transaction=True)
def test_every_write_changes_the_version_outside_a_transaction(org: Org) -> None:
    assert not transaction.get_connection().in_atomic_block
    _writes_each_change_the_version(org)
    versions = row_versions(Team, Repository)
    assert versions == row_versions(Team, Repository)  # nothing written: the same
    if connection.vendor == "postgresql":
        with transaction.atomic():
            # Read inside a transaction, row versions differ from those read outside: no shared key.
            assert row_versions(Team, Repository) != versions


def test_round_version_follows_what_the_floored_results_read(org: Org, settings: object) -> None:
    survey_round = make_round(teams=[org.product])
    answers = [make_response(survey_round=survey_round, team=org.checkout) for _ in range(6)]
    seen = {round_version(survey_round)}

    def changed() -> None:
        version = round_version(survey_round)
        assert version not in seen
        seen.add(version)

    # An imported answer changed in place, same count, same ids, same submission time.
    SurveyResponse.objects.filter(pk=answers[0].pk).update(overall_satisfaction=1)
    changed()
    TeamMembership.objects.filter(person=org.alice).update(end=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    changed()
    Team.objects.filter(pk=org.search.pk).update(parent=None)  # moved: the tree changed
    changed()
    Person.objects.filter(pk=org.bob.pk).update(is_bot=True)  # bots are not asked
    changed()
    survey_round.teams.add(org.platform)
    changed()
    SurveyRound.objects.filter(pk=survey_round.pk).update(name="Renamed")
    changed()
    settings.MIN_GROUP_SIZE = 7  # type: ignore[attr-defined]
    changed()
    Person.objects.filter(pk=org.carol.pk).update(display_name="Carol C.")  # read by no result
    assert round_version(survey_round) in seen


# --- pages -------------------------------------------------------------------------------------------


def test_overview_follows_teams_snapshots_and_answers(
    admin_client: Client, org: Org, settings: object
) -> None:
    html = page(admin_client, "/")
    assert "12.5 h" in team_row(html, "checkout") and 'value="checkout">&nbsp;&nbsp;Checkout' in html
    Team.objects.filter(pk=org.checkout.pk).update(name="Check-out & Pay")
    html = page(admin_client, "/")
    assert ">Check-out &amp; Pay</a>" in html and ">Checkout</a>" not in html
    assert 'value="checkout">&nbsp;&nbsp;Check-out &amp; Pay' in select(html, "team")
    Team.objects.filter(pk=org.checkout.pk).update(parent=org.platform)  # moved under Platform
    assert 'data-team="checkout"' not in page(admin_client, "/?team=product")
    assert 'data-team="checkout"' in page(admin_client, "/?team=platform")
    recompute(org.checkout, "cycle_time_p50", [30.0, 33.0])
    assert "33.0 h" in team_row(page(admin_client, "/"), "checkout")
    assert "July 2025" not in select(page(admin_client, "/"), "at")
    make_snapshot(metric="merged_prs", value=3.0, period_start=dt.date(2025, 7, 1), period="month")
    assert '<option value="2025-07-01" selected>July 2025</option>' in select(page(admin_client, "/"), "at")

    survey_round = make_round(teams=[org.product], opened_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    for person in make_team_members(org.checkout, 12, start=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)):
        make_response(survey_round=survey_round, team=org.checkout, person=person, overall=4)
    assert org_satisfaction(page(admin_client, "/")) == "4.00"
    SurveyResponse.objects.update(overall_satisfaction=2)  # answers changed in place
    assert org_satisfaction(page(admin_client, "/")) == "2.00"
    settings.MIN_GROUP_SIZE = 50  # type: ignore[attr-defined]
    assert org_satisfaction(page(admin_client, "/")) == "—"  # below the floor now


def test_team_dashboard_follows_snapshots_people_and_tree(admin_client: Client, org: Org) -> None:
    html = page(admin_client, "/teams/checkout/?period=month")
    assert "12.5 h" in html and "Alice Anders" in html and ">Product</a> / Checkout" in html
    recompute(org.checkout, "cycle_time_p50", [30.0, 7.5])
    html = page(admin_client, "/teams/checkout/?period=month")
    assert "7.5 h" in html and "12.5 h" not in html
    Person.objects.filter(pk=org.alice.pk).update(display_name="Alice Renamed")
    html = page(admin_client, "/teams/checkout/?period=month")
    assert "Alice Renamed" in html and "Alice Anders" not in html
    TeamMembership.objects.filter(person=org.alice).delete()
    assert "Alice Renamed" not in page(admin_client, "/teams/checkout/?period=month")
    Team.objects.filter(pk=org.product.pk).update(name="Products")
    assert ">Products</a> / Checkout" in page(admin_client, "/teams/checkout/?period=month")
    growth = make_team(name="Growth", slug="growth", parent=org.checkout)
    assert f'href="/teams/{growth.slug}/?period=week&amp;range=6m">Growth</a>' in page(
        admin_client, "/teams/checkout/"
    )


def test_satisfaction_trend_follows_answers(admin_client: Client, org: Org) -> None:
    survey_round = make_round(teams=[org.product], opened_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    for person in make_team_members(org.checkout, 6, start=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)):
        make_response(survey_round=survey_round, team=org.checkout, person=person, overall=4, ease=4)
    assert '"y": [4.0]' in page(admin_client, "/teams/checkout/")
    SurveyResponse.objects.update(overall_satisfaction=3)
    html = page(admin_client, "/teams/checkout/")
    assert '"y": [3.0]' in html and '"y": [4.0]' in html  # satisfaction moved, ease of shipping did not
    SurveyRound.objects.filter(pk=survey_round.pk).update(name="June pulse")
    assert '"x": ["June pulse"]' in page(admin_client, "/teams/checkout/")


def test_pr_filters_follow_teams_repositories_and_people(admin_client: Client, org: Org) -> None:
    html = page(admin_client, "/prs/")
    assert "acme/ops" not in select(html, "repository") and "Alice Anders" in select(html, "author")
    Team.objects.filter(pk=org.search.pk).update(name="Search & Find")
    html = page(admin_client, "/prs/?team=search")
    # Indented as on the overview (one template for both): the entity, not the character.
    assert 'value="search" selected>&nbsp;&nbsp;Search &amp; Find</option>' in select(html, "team")
    Person.objects.filter(pk=org.alice.pk).update(display_name="Alice Renamed")
    authors = select(page(admin_client, f"/prs/?author={org.alice.pk}"), "author")
    assert f'value="{org.alice.pk}" selected>Alice Renamed</option>' in authors
    assert "Alice Anders" not in authors
    Repository.objects.filter(full_name="acme/api").update(full_name="acme/ops")
    html = page(admin_client, "/prs/?repository=acme/ops")
    assert 'value="acme/ops" selected>acme/ops</option>' in select(html, "repository")


def test_cached_names_never_reach_another_role(clients: dict[str, Client], org: Org) -> None:
    # The admin fills every cache first: all names in the author filter, people tables of every team.
    everyone = select(page(clients["admin"], "/prs/"), "author")
    assert all(name in everyone for name in ("Alice Anders", "Bob Brenner", "Carol Castillo", "Dave Dorsey"))
    assert "Alice Anders" in page(clients["admin"], "/teams/checkout/?period=month")

    mine = select(page(clients["checkout"], "/prs/"), "author")
    assert "Alice Anders" in mine and "Dave Dorsey" in mine
    assert "Bob Brenner" not in mine and "Carol Castillo" not in mine
    other = page(client_for(make_user("sam", "manager", (org.search,))), "/teams/checkout/?period=month")
    assert 'id="people"' not in other and "Alice Anders" not in other
    assert "Alice Anders" in page(clients["product"], "/teams/checkout/?period=month")
    for role in ("executive", "viewer"):
        html = page(clients[role], "/prs/")
        assert select(html, "author") == "" and "Alice Anders" not in html, role
        assert "Alice Anders" not in page(clients[role], "/teams/checkout/?period=month"), role

    # A new member of Checkout joins its manager's author filter (and nobody else's changes).
    TeamMembership.objects.create(person=org.carol, team=org.checkout)
    assert "Carol Castillo" in select(page(clients["checkout"], "/prs/"), "author")
    assert select(page(clients["viewer"], "/prs/"), "author") == ""


def test_impact_page_follows_estimates_costs_and_settings(clients: dict[str, Client], org: Org) -> None:
    html = page(clients["admin"], "/ai-impact/")
    assert "-13.2%" in html and "No tool costs are set" in html and "Value at 100 USD" in html
    AIImpactEstimate.objects.filter(scope="organization", outcome="cycle_time", method="adjusted").update(
        estimate=-21.5
    )
    html = page(clients["admin"], "/ai-impact/")
    assert "-21.5%" in html and "-13.2%" not in html
    AITool.objects.create(name="Claude Code", monthly_seat_cost=20)
    assert "No tool costs are set" not in page(clients["admin"], "/ai-impact/")
    Organization.objects.create(name="Acme", settings={"loaded_hourly_cost": 150})
    assert "Value at 150 USD" in page(clients["admin"], "/ai-impact/")
    Organization.objects.update(settings={"loaded_hourly_cost": 175})
    assert "Value at 175 USD" in page(clients["admin"], "/ai-impact/")
    assert "Value at" not in page(clients["viewer"], "/ai-impact/")  # money stays with who may see it


@pytest.mark.django_db(transaction=True)
def test_pages_follow_changes_made_outside_a_transaction(admin_client: Client, org: Org) -> None:
    """Committed writes (autocommit, as in production) are told apart by their transaction alone."""
    memo.cache.clear()
    assert "Alice Anders" in select(page(admin_client, "/prs/"), "author")
    assert ">Checkout</a>" in page(admin_client, "/")
    assert "Alice Anders" in page(admin_client, "/teams/checkout/?period=month")
    Person.objects.filter(pk=org.alice.pk).update(display_name="Alice Renamed")
    Team.objects.filter(pk=org.checkout.pk).update(name="Check-out")
    recompute(org.checkout, "cycle_time_p50", [30.0, 7.5])
    assert "Alice Renamed" in select(page(admin_client, "/prs/"), "author")
    overview = page(admin_client, "/")
    assert ">Check-out</a>" in overview and "7.5 h" in team_row(overview, "checkout")
    dashboard = page(admin_client, "/teams/checkout/?period=month")
    assert "Alice Renamed" in dashboard and "7.5 h" in dashboard


def test_chart_html_prints_what_the_chart_tag_prints() -> None:
    spec = {
        "data": [{"x": ["<a> & 'b' \"c\""], "y": [1.5, None, float("nan")], "text": "<i></i>"}],
        "layout": {"height": 220, "title": {"text": "Ünïcode — ok"}},
    }
    for args in ((spec, "chart-x"), (spec, "chart-<y>", "/prs/?a=1&b=2", "week"), ({"data": []}, "c")):
        assert display.chart_html(*args) == sextant.chart(*args)


def test_the_local_cache_keeps_within_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    local = memo.LocalFirstCache(limit=5_000)
    monkeypatch.setattr(memo, "shared_cache", _Nowhere())
    for i in range(10):
        assert local.get_or_set(f"k{i}", lambda i=i: "x" * 1_000 + str(i)) == "x" * 1_000 + str(i)
    assert local._used <= 5_000 and "k9" in local._entries and "k0" not in local._entries
    calls = []
    assert local.get_or_set("k9", lambda: calls.append(1)) == "x" * 1_000 + "9" and not calls


class _Nowhere:
    """A shared cache that keeps nothing."""

    def get(self, key: str, default: object = None) -> object:
        return default

    def set(self, key: str, value: object, timeout: int | None = None) -> None:
        return None
