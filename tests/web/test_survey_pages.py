"""Survey pages: open a round, answer it, read results — and nothing below the floor in any HTML."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from metrics.core.models import Team
from metrics.ingestion.models import SurveyResponse, SurveyRound
from metrics.web.surveys import can_manage_surveys
from tests.factories import make_person, make_response, make_round, make_team_tree, make_user

pytestmark = pytest.mark.django_db

SMALL = "fewer than 5 respondents — hidden for privacy"
SUBTRACTION = "hidden for privacy — shown beside the groups above it, it would reveal a group of fewer than 5"


@pytest.fixture
def org() -> dict[str, Team]:
    return make_team_tree()


@pytest.fixture
def pulse(org: dict[str, Team]) -> SurveyRound:
    """Product 7 respondents = Checkout 5 + Search 2: Checkout would reveal Search by subtraction."""
    opened = timezone.now() - dt.timedelta(days=3)
    before = make_round(
        teams=[org["product"]], name="Before", opened_at=opened - dt.timedelta(days=90), open_days=10
    )
    survey_round = make_round(teams=[org["product"]], name="Pulse", opened_at=opened)
    for i in range(6):
        person = make_person(email=f"checkout{i}@example.com", team=org["checkout"])
        make_response(survey_round=before, team=org["checkout"], person=person, overall=4, ease=4, hours=1.5)
        if i < 5:
            make_response(
                survey_round=survey_round,
                team=org["checkout"],
                person=person,
                overall=2,
                ease=3,
                hours=1.0,
                tool="copilot",
                frequency="weekly",
                free_text=f"checkout says {i}",
            )
    for i in range(2):
        person = make_person(email=f"search{i}@example.com", team=org["search"])
        make_response(
            survey_round=survey_round,
            team=org["search"],
            person=person,
            overall=5,
            ease=3,
            hours=33.0,
            tool="Windsurf",
            frequency="daily",
            free_text=f"search says {i}",
        )
    return survey_round


def text_of(page: str) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def group_row(page: str, group: str) -> str:
    match = re.search(rf'<tr data-group="{re.escape(group)}"[^>]*>(.*?)</tr>', page, flags=re.S)
    assert match, group
    return text_of(match.group(1))


class TestAccess:
    @pytest.mark.parametrize("url", ["/surveys/", "/surveys/new/", "/surveys/1/", "/surveys/1/answer/"])
    def test_login_required(self, client: Client, url: str) -> None:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")

    def test_who_manages(self) -> None:
        assert can_manage_surveys(make_user(email="root@example.com", superuser=True))
        assert can_manage_surveys(make_user(email="boss@example.com", manager=True))
        assert not can_manage_surveys(make_user(email="dev@example.com"))
        assert not can_manage_surveys(AnonymousUser())


class TestOpenRound:
    def test_developers_cannot_open_rounds(self, client: Client, org: dict[str, Team]) -> None:
        client.force_login(make_user(email="dev@example.com"))
        response = client.get("/surveys/new/")
        assert response.status_code == 403 and "Only managers" in response.content.decode()
        assert client.post("/surveys/new/", {"name": "X", "teams": [org["product"].pk]}).status_code == 403
        assert "Open a round" not in client.get("/surveys/").content.decode()

    def test_manager_opens_a_round(self, client: Client, org: dict[str, Team]) -> None:
        manager = make_user(email="boss@example.com", manager=True)
        client.force_login(manager)
        form = client.get("/surveys/new/").content.decode()
        assert all(f'value="{team.pk}"' in form for team in org.values())
        closes_on = (timezone.now() + dt.timedelta(days=7)).date()
        response = client.post(
            "/surveys/new/",
            {
                "name": "Q3 pulse",
                "closes_on": closes_on.isoformat(),
                "teams": [org["checkout"].pk, org["search"].pk],
            },
        )
        survey_round = SurveyRound.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/surveys/{survey_round.pk}/?opened=1"
        assert survey_round.created_by == manager
        assert survey_round.closes_at == dt.datetime.combine(
            closes_on + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC
        )
        assert {t.slug for t in survey_round.teams.all()} == {"checkout", "search"}
        page = client.get(response["Location"]).content.decode()
        assert "The round is open." in page and f"http://testserver/surveys/{survey_round.pk}/answer/" in page

    def test_errors_are_shown_and_nothing_stored(self, client: Client, org: dict[str, Team]) -> None:
        client.force_login(make_user(email="root@example.com", superuser=True))
        response = client.post("/surveys/new/", {"name": "", "closes_on": "2001-01-01"})
        page = response.content.decode()
        assert response.status_code == 400
        assert "a round needs a name" in page and "choose at least one team" in page
        assert "must be a time in the future" in page
        bad_date = client.post(
            "/surveys/new/", {"name": "X", "closes_on": "next week", "teams": [org["search"].pk]}
        )
        assert bad_date.status_code == 400 and "&#x27;next week&#x27; is not a date (YYYY-MM-DD)" in (
            bad_date.content.decode()
        )
        assert not SurveyRound.objects.exists()


class TestAnswer:
    def test_answer_then_edit(self, client: Client, org: dict[str, Team]) -> None:
        person = make_person(email="ada@example.com", team=org["checkout"])
        survey_round = make_round(teams=[org["product"]], name="Pulse")
        client.force_login(make_user(email="ADA@example.com"))
        url = f"/surveys/{survey_round.pk}/answer/"
        form = client.get(url).content.decode()
        assert "Overall, how satisfied are you" in form and 'name="team"' not in form
        response = client.post(
            url,
            {
                "overall_satisfaction": "4",
                "ease_of_shipping": "5",
                "ai_hours_saved_per_week": "2.5",
                "ai_tool": "claude",
                "ai_frequency": "daily",
                "free_text": "ok",
            },
        )
        assert response.status_code == 302 and response["Location"] == f"{url}?saved=1"
        saved = client.get(response["Location"]).content.decode()
        assert "your answers are saved" in saved
        assert 'name="overall_satisfaction" value="4" checked' in saved
        assert 'value="2.5"' in saved and 'value="Claude Code"' in saved
        client.post(url, {"overall_satisfaction": "1", "ease_of_shipping": "1"})
        response = SurveyResponse.objects.get()
        assert (response.person, response.team, response.overall_satisfaction) == (person, org["checkout"], 1)

    def test_bad_answers(self, client: Client, org: dict[str, Team]) -> None:
        make_person(email="ada@example.com", team=org["checkout"])
        survey_round = make_round(teams=[org["checkout"]])
        client.force_login(make_user(email="ada@example.com"))
        response = client.post(
            f"/surveys/{survey_round.pk}/answer/",
            {"overall_satisfaction": "", "ease_of_shipping": "3", "ai_hours_saved_per_week": "-1"},
        )
        page = response.content.decode()
        assert response.status_code == 400
        assert "choose an answer from 1 to 5" in page and "-1 is not between 0 and 40" in page
        assert 'name="ease_of_shipping" value="3" checked' in page  # what was given is kept
        assert not SurveyResponse.objects.exists()

    def test_two_teams_choose_one(self, client: Client, org: dict[str, Team]) -> None:
        person = make_person(email="ada@example.com", team=org["checkout"])
        person.memberships.create(team=org["search"])
        survey_round = make_round(teams=[org["product"]])
        client.force_login(make_user(email="ada@example.com"))
        url = f"/surveys/{survey_round.pk}/answer/"
        assert 'name="team"' in client.get(url).content.decode()
        response = client.post(url, {"overall_satisfaction": "4", "ease_of_shipping": "4"})
        assert response.status_code == 400 and "choose the team you answer for: Checkout, Search" in (
            response.content.decode()
        )
        client.post(url, {"overall_satisfaction": "4", "ease_of_shipping": "4", "team": org["search"].pk})
        assert SurveyResponse.objects.get().team == org["search"]

    @pytest.mark.parametrize(
        ("email", "member", "closed", "message"),
        [
            (
                "stranger@example.com",
                False,
                False,
                "Your account&#x27;s e-mail address, stranger@example.com, is not "
                "linked to a person in Sextant",
            ),
            (
                "ada@example.com",
                False,
                False,
                "You were not in any of this round&#x27;s teams when it opened",
            ),
            (
                "ada@example.com",
                True,
                True,
                "This round is closed: answers can no longer be given or changed.",
            ),
        ],
    )
    def test_who_cannot_answer_is_told_why(
        self, client: Client, org: dict[str, Team], email: str, member: bool, closed: bool, message: str
    ) -> None:
        make_person(email="ada@example.com", team=org["checkout"] if member else org["platform"])
        opened = timezone.now() - dt.timedelta(days=20)
        survey_round = make_round(teams=[org["product"]], opened_at=opened, open_days=10 if closed else 30)
        client.force_login(make_user(email=email))
        url = f"/surveys/{survey_round.pk}/answer/"
        page = client.get(url)
        assert page.status_code == 200 and message in page.content.decode()
        assert 'name="overall_satisfaction"' not in page.content.decode()
        posted = client.post(url, {"overall_satisfaction": "4", "ease_of_shipping": "4"})
        assert posted.status_code == 400 and message in posted.content.decode()
        assert not SurveyResponse.objects.exists()


class TestResults:
    def test_detail_shows_shown_groups_and_hides_the_rest(
        self, client: Client, org: dict[str, Team], pulse: SurveyRound
    ) -> None:
        client.force_login(make_user(email="dev@example.com"))
        page = client.get(f"/surveys/{pulse.pk}/").content.decode()
        assert group_row(page, "all") == "All respondents 7 8 88% 2.86 3.00 10.1 h"
        assert group_row(page, f"team:{org['product'].pk}") == "Product 7 8 88% 2.86 3.00 10.1 h"
        assert group_row(page, f"team:{org['checkout'].pk}") == f"Checkout {SUBTRACTION} respondents"
        assert group_row(page, f"team:{org['search'].pk}") == f"Search {SMALL}"
        assert "Comments" not in text_of(page)  # developers do not read comments
        dist = text_of(page)
        assert "GitHub Copilot 5 · 71%" in dist and "Windsurf 2 · 29%" in dist

    def test_unknown_group(self, client: Client, pulse: SurveyRound) -> None:
        client.force_login(make_user(email="dev@example.com"))
        response = client.get(f"/surveys/{pulse.pk}/?group=team:9999")
        assert response.status_code == 400 and "Unknown group" in response.content.decode()

    def test_managers_read_comments_of_shown_rounds_only(
        self, client: Client, org: dict[str, Team], pulse: SurveyRound
    ) -> None:
        client.force_login(make_user(email="boss@example.com", manager=True))
        page = text_of(client.get(f"/surveys/{pulse.pk}/").content.decode())
        assert "checkout says 0 checkout says 1" in page and "search says 1" in page
        small = make_round(teams=[org["platform"]], name="Tiny")
        for i in range(4):
            make_response(survey_round=small, team=org["platform"], free_text=f"tiny secret {i}")
        tiny = text_of(client.get(f"/surveys/{small.pk}/").content.decode())
        assert "tiny secret" not in tiny and "Comments are hidden while the round has fewer than 5" in tiny

    def test_index_lists_rounds_with_the_floor(
        self, client: Client, org: dict[str, Team], pulse: SurveyRound
    ) -> None:
        small = make_round(teams=[org["platform"]], name="Tiny")
        for _ in range(4):
            make_response(survey_round=small, team=org["platform"], overall=1, ease=1)
        me = make_person(email="search0-account@example.com", team=org["search"])
        assert me  # in Search: may answer Pulse
        client.force_login(make_user(email="search0-account@example.com"))
        page = client.get("/surveys/").content.decode()
        text = text_of(page)
        assert f'<tr data-round="{small.pk}">' in page
        assert "Tiny Platform open" in text and SMALL in text
        # 9 asked now: 6 in Checkout, 3 in Search (this user included).
        assert "Pulse Product open" in text and "answer 7 78% 2.86 3.00 10.1 h" in text
        assert "Before Product closed 6 67% 4.00 4.00 1.5 h" in text
        assert "Waiting for your answers" in text and f'href="/surveys/{pulse.pk}/answer/"' in page
        assert 'id="chart-survey-trend"' in page

    def test_trend_table_across_rounds(
        self, client: Client, org: dict[str, Team], pulse: SurveyRound
    ) -> None:
        client.force_login(make_user(email="dev@example.com"))
        text = text_of(client.get(f"/surveys/{pulse.pk}/").content.decode())
        assert (
            "Satisfaction by round Group Before Pulse All respondents 4.00 2.86 Product 4.00 2.86 "
            "Checkout 4.00 hidden Search hidden hidden" in text
        )


def test_nothing_below_the_floor_appears_in_any_page(
    client: Client, org: dict[str, Team], pulse: SurveyRound
) -> None:
    """Checkout's own results (mean 2.00, 1.0 h) and Search's (5.00, 33.0 h) never appear; no two shown
    groups differ by 1 to 4 respondents."""
    manager = make_user(email="checkout0@example.com", manager=True)
    client.force_login(manager)
    groups = ["all", *(f"team:{team.pk}" for team in org.values())]
    urls = [
        "/surveys/",
        f"/surveys/{pulse.pk}/",
        f"/surveys/{pulse.pk}/answer/",
        *(f"/surveys/{pulse.pk}/?group={g}" for g in groups if g != f"team:{org['platform'].pk}"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        text = text_of(page)
        for leaked in ("2.00", "5.00", "1.0 h", "33.0 h", " 40% ", "Windsurf 2 · 100%"):
            assert leaked not in text, (url, leaked)
        for hidden in (org["checkout"], org["search"]):
            if f'data-group="team:{hidden.pk}"' in page:
                row = group_row(page, f"team:{hidden.pk}")
                assert not re.search(r"\d", row.replace("fewer than 5", "")), (url, row)
    for hidden in (org["checkout"], org["search"]):
        page = client.get(f"/surveys/{pulse.pk}/?group=team:{hidden.pk}").content.decode()
        assert 'class="bar-fill"' not in page and "GitHub Copilot" not in page
    # Respondent counts shown on the detail page: nested shown groups never differ by 1..4.
    page = client.get(f"/surveys/{pulse.pk}/").content.decode()
    shown = {g: int(group_row(page, g).split()[-7]) for g in groups[:2]}
    assert shown == {"all": 7, f"team:{org['product'].pk}": 7}
    assert all(not 0 < abs(a - b) < 5 for a in shown.values() for b in shown.values())
