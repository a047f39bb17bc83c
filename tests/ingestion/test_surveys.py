"""Survey services, selectors and ``import_survey`` against the real database."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from metrics.core.models import Identity, Person, Team
from metrics.ingestion import surveys as services
from metrics.ingestion.models import SurveyResponse, SurveyRound
from tests.factories import make_person, make_response, make_round, make_team_tree, make_user

pytestmark = pytest.mark.django_db

ANSWERS = {
    "overall_satisfaction": "4",
    "ease_of_shipping": "2",
    "ai_hours_saved_per_week": "3.5",
    "ai_tool": "copilot",
    "ai_frequency": "Weekly",
    "free_text": "  More reviewers please  ",
}


@pytest.fixture
def teams() -> dict[str, Team]:
    return make_team_tree()


class TestOpenRound:
    def test_opens_now_for_the_chosen_teams(self, teams: dict[str, Team]) -> None:
        user = make_user(email="boss@example.com", manager=True)
        closes = timezone.now() + dt.timedelta(days=7)
        before = timezone.now()
        survey_round = services.survey_round_open(
            name="  Q3   pulse ", teams=[teams["product"]], closes_at=closes, user=user
        )
        assert (survey_round.name, survey_round.closes_at, survey_round.created_by) == (
            "Q3 pulse",
            closes,
            user,
        )
        assert before <= survey_round.opened_at <= timezone.now()
        assert list(survey_round.teams.all()) == [teams["product"]]
        assert services.survey_round_scope(survey_round) == {
            teams[k].pk for k in ("product", "checkout", "search")
        }
        assert services.survey_round_is_open(survey_round)

    def test_every_problem_at_once_and_nothing_stored(self) -> None:
        with pytest.raises(services.SurveyError) as info:
            services.survey_round_open(
                name=" ", teams=[], closes_at=timezone.now() - dt.timedelta(minutes=1), user=None
            )
        assert info.value.errors == {
            "name": "a round needs a name",
            "teams": "choose at least one team",
            "closes_at": "must be a time in the future (with a time zone)",
        }
        assert not SurveyRound.objects.exists()

    def test_without_closing_time_it_stays_open(self, teams: dict[str, Team]) -> None:
        survey_round = services.survey_round_open(
            name="Always", teams=[teams["search"]], closes_at=None, user=None
        )
        assert services.survey_round_is_open(survey_round, timezone.now() + dt.timedelta(days=3650))


class TestSubmit:
    def test_store_then_edit_one_response(self, teams: dict[str, Team]) -> None:
        person = make_person(email="Ada@Example.com", team=teams["checkout"])
        user = make_user(email="ada@example.com")
        survey_round = make_round(teams=[teams["product"]])
        first = services.survey_response_submit(round=survey_round, user=user, answers=ANSWERS)
        assert (first.person, first.team, first.source) == (person, teams["checkout"], "builtin")
        assert (first.overall_satisfaction, first.ease_of_shipping, first.ai_hours_saved_per_week) == (
            4,
            2,
            3.5,
        )
        assert (first.ai_tool, first.ai_frequency, first.free_text) == (
            "GitHub Copilot",
            "weekly",
            "More reviewers please",
        )
        second = services.survey_response_submit(
            round=survey_round, user=user, answers={"overall_satisfaction": 5, "ease_of_shipping": 5}
        )
        assert second.pk == first.pk and SurveyResponse.objects.count() == 1
        assert (second.overall_satisfaction, second.ai_hours_saved_per_week, second.ai_tool) == (5, None, "")
        assert second.submitted_at >= first.submitted_at
        assert services.survey_response_get(survey_round=survey_round, person=person) == second

    def test_bad_answers_are_all_named(self, teams: dict[str, Team]) -> None:
        make_person(email="ada@example.com", team=teams["checkout"])
        survey_round = make_round(teams=[teams["checkout"]])
        with pytest.raises(services.SurveyError) as info:
            services.survey_response_submit(
                round=survey_round,
                user=make_user(email="ada@example.com"),
                answers={
                    "overall_satisfaction": "6",
                    "ease_of_shipping": "",
                    "ai_hours_saved_per_week": "41",
                    "ai_frequency": "hourly",
                    "free_text": "x" * 5001,
                },
            )
        assert info.value.errors == {
            "overall_satisfaction": "6 is not from 1 to 5",
            "ease_of_shipping": "choose an answer from 1 to 5",
            "ai_hours_saved_per_week": "41 is not between 0 and 40",
            "ai_frequency": "'hourly' is not one of never, monthly, weekly, daily",
            "free_text": "at most 5000 characters, got 5001",
        }
        with pytest.raises(services.SurveyError, match="'four' is not a whole number"):
            services.survey_response_submit(
                round=survey_round,
                user=make_user(email="ada@example.com"),
                answers={**ANSWERS, "overall_satisfaction": "four"},
            )
        assert not SurveyResponse.objects.exists()

    def test_account_without_a_person(self, teams: dict[str, Team]) -> None:
        survey_round = make_round(teams=[teams["checkout"]])
        with pytest.raises(
            services.SurveyError,
            match=r"e-mail address nobody@example\.com does not belong to any person Sextant knows",
        ):
            services.survey_response_submit(
                round=survey_round, user=make_user(email="nobody@example.com"), answers=ANSWERS
            )

    def test_closed_round(self, teams: dict[str, Team]) -> None:
        make_person(email="ada@example.com", team=teams["checkout"])
        opened = timezone.now() - dt.timedelta(days=10)
        survey_round = make_round(
            teams=[teams["checkout"]], opened_at=opened, closes_at=opened + dt.timedelta(days=5)
        )
        with pytest.raises(
            services.SurveyError, match=r"this round closed on .* UTC; answers can no longer be"
        ):
            services.survey_response_submit(
                round=survey_round, user=make_user(email="ada@example.com"), answers=ANSWERS
            )

    def test_only_members_at_the_opening(self, teams: dict[str, Team]) -> None:
        opened = timezone.now() - dt.timedelta(days=1)
        make_person(email="late@example.com", team=teams["checkout"], start=opened + dt.timedelta(hours=1))
        make_person(email="gone@example.com", team=teams["checkout"], end=opened - dt.timedelta(hours=1))
        make_person(email="other@example.com", team=teams["platform"])
        survey_round = make_round(teams=[teams["product"]], opened_at=opened)
        for email in ("late@example.com", "gone@example.com", "other@example.com"):
            with pytest.raises(
                services.SurveyError, match="not a member of this round's teams when it opened"
            ):
                services.survey_response_submit(
                    round=survey_round, user=make_user(email=email), answers=ANSWERS
                )

    def test_member_of_two_teams_chooses(self, teams: dict[str, Team]) -> None:
        person = make_person(email="ada@example.com", team=teams["checkout"])
        person.memberships.create(team=teams["search"])
        survey_round = make_round(teams=[teams["product"]])
        user = make_user(email="ada@example.com")
        with pytest.raises(services.SurveyError) as info:
            services.survey_response_submit(round=survey_round, user=user, answers=ANSWERS)
        assert info.value.errors == {"team": "choose the team you answer for: Checkout, Search"}
        with pytest.raises(services.SurveyError):
            services.survey_response_submit(
                round=survey_round, user=user, answers={**ANSWERS, "team": teams["platform"].pk}
            )
        response = services.survey_response_submit(
            round=survey_round, user=user, answers={**ANSWERS, "team": str(teams["search"].pk)}
        )
        assert response.team == teams["search"]


SURVEY_CSV = """Response ID,Submitted,E-mail,Team,Q1,Q2,Hours
t-1,2025-03-01T09:00:00+01:00,ada@example.com,Checkout,5,4,2
t-2,2025-03-02T09:00:00Z,bob@example.com,Search,3,3,
t-3,2025-03-05,,Checkout,4,,1.5
"""
MAP = [
    "--map",
    "external_id=Response ID",
    "--map",
    "submitted_at=Submitted",
    "--map",
    "email=E-mail",
    "--map",
    "overall_satisfaction=Q1",
    "--map",
    "ease_of_shipping=Q2",
    "--map",
    "ai_hours_saved_per_week=Hours",
]


def import_survey(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_survey", str(path), *args, stdout=out)
    return out.getvalue()


class TestImport:
    def test_import_creates_a_closed_round_and_is_idempotent(
        self, tmp_path: Path, teams: dict[str, Team]
    ) -> None:
        path = tmp_path / "export.csv"
        path.write_text(SURVEY_CSV, encoding="utf-8")
        out = import_survey(path, "--round", "Pulse 2025-03", *MAP)
        survey_round = SurveyRound.objects.get()
        assert out.strip() == (
            f"Imported 3 responses from {path} into round 'Pulse 2025-03' (new round, id "
            f"{survey_round.pk}): 3 new, 0 updated; 2 teams; AI impact and ROI recomputed (0 rows)."
        )  # survey answers feed the self-reported ROI, so an import asks for that recompute
        assert survey_round.opened_at == dt.datetime(2025, 3, 1, 8, tzinfo=dt.UTC)
        assert survey_round.closes_at == dt.datetime(2025, 3, 5, tzinfo=dt.UTC)
        assert {t.name for t in survey_round.teams.all()} == {"Checkout", "Search"}
        ada = SurveyResponse.objects.get(external_id=f"round:{survey_round.pk}:t-1")
        assert (ada.source, ada.team, ada.overall_satisfaction, ada.ai_hours_saved_per_week) == (
            "csv",
            teams["checkout"],
            5,
            2.0,
        )
        assert ada.person == Identity.objects.get(key="email:ada@example.com").person
        assert SurveyResponse.objects.get(external_id=f"round:{survey_round.pk}:t-3").person is None
        again = import_survey(path, "--round", "Pulse 2025-03", *MAP)
        assert "(existing round" in again and "0 new, 3 updated" in again
        assert SurveyResponse.objects.count() == 3 and Person.objects.count() == 2

    def test_same_ids_in_another_round_do_not_collide(self, tmp_path: Path, teams: dict[str, Team]) -> None:
        path = tmp_path / "export.csv"
        path.write_text(SURVEY_CSV, encoding="utf-8")
        import_survey(path, "--round", "March", *MAP)
        import_survey(path, "--round", "April", *MAP)
        assert SurveyResponse.objects.count() == 6
        assert SurveyRound.objects.count() == 2

    def test_mapping_file(self, tmp_path: Path, teams: dict[str, Team]) -> None:
        (tmp_path / "map.json").write_text(
            '{"columns": {"submitted_at": "When", "ai_frequency": "Use"}, "values": {"ai_frequency": '
            '{"Every day": "daily"}}}',
            encoding="utf-8",
        )
        path = tmp_path / "export.csv"
        path.write_text("When,Use\n2025-03-01,Every day\n", encoding="utf-8")
        import_survey(path, "--round", "R", "--mapping", str(tmp_path / "map.json"))
        assert SurveyResponse.objects.get().ai_frequency == "daily"

    def test_a_bad_file_stores_nothing(self, tmp_path: Path, teams: dict[str, Team]) -> None:
        path = tmp_path / "export.csv"
        path.write_text(SURVEY_CSV + "t-4,2025-03-06,cy@example.com,Checkout,9,4,\n", encoding="utf-8")
        with pytest.raises(CommandError, match=r"line 5, column 'Q1': '9' is not a whole number from 1 to 5"):
            import_survey(path, "--round", "R", *MAP)
        assert not SurveyRound.objects.exists() and not SurveyResponse.objects.exists()

    def test_unknown_team_stores_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "export.csv"
        path.write_text(SURVEY_CSV, encoding="utf-8")
        with pytest.raises(CommandError, match=r"unknown team\(s\) 'Checkout', 'Search': create them with "):
            import_survey(path, "--round", "R", *MAP)
        assert not SurveyRound.objects.exists() and not Person.objects.exists()

    def test_bad_map_argument(self, tmp_path: Path) -> None:
        path = tmp_path / "export.csv"
        path.write_text(SURVEY_CSV, encoding="utf-8")
        with pytest.raises(CommandError, match="unknown field 'q1'"):
            import_survey(path, "--round", "R", "--map", "q1=Q1")

    def test_person_who_answered_in_sextant_cannot_be_imported_again(
        self, tmp_path: Path, teams: dict[str, Team]
    ) -> None:
        ada = make_person(email="ada@example.com", team=teams["checkout"])
        survey_round = make_round(teams=[teams["product"]], name="Pulse")
        services.survey_response_submit(
            round=survey_round, user=make_user(email="ada@example.com"), answers=ANSWERS
        )
        path = tmp_path / "export.csv"
        path.write_text(SURVEY_CSV, encoding="utf-8")
        with pytest.raises(
            CommandError,
            match=r"1 respondent\(s\) already answered round 'Pulse' under another "
            r"response: ada \(builtin\)",
        ):
            import_survey(path, "--round", "Pulse", *MAP)
        assert SurveyResponse.objects.get().person == ada

    def test_two_rounds_with_the_name(self, tmp_path: Path, teams: dict[str, Team]) -> None:
        make_round(teams=[teams["product"]], name="Twice")
        make_round(teams=[teams["product"]], name="Twice")
        path = tmp_path / "export.csv"
        path.write_text(SURVEY_CSV, encoding="utf-8")
        with pytest.raises(CommandError, match="2 rounds are called 'Twice'"):
            import_survey(path, "--round", "Twice", *MAP)


class TestSelectorsAndResults:
    def test_frames_and_floored_results(self, teams: dict[str, Team]) -> None:
        opened = timezone.now() - dt.timedelta(days=2)
        survey_round = make_round(teams=[teams["product"]], opened_at=opened)
        checkout = [make_person(email=f"c{i}@example.com", team=teams["checkout"]) for i in range(6)]
        search = [make_person(email=f"s{i}@example.com", team=teams["search"]) for i in range(3)]
        make_person(email="bot@example.com", team=teams["search"], is_bot=True)
        make_person(email="late@example.com", team=teams["search"], start=opened + dt.timedelta(hours=1))
        for i, person in enumerate(checkout[:5]):
            make_response(
                survey_round=survey_round, team=teams["checkout"], person=person, overall=1 + i, hours=2.0
            )
        make_response(survey_round=survey_round, team=teams["search"], person=search[0], overall=5, hours=2.0)
        make_response(
            survey_round=survey_round, team=teams["search"], person=search[1], overall=5, hours=None
        )
        frame = services.survey_frame(round_ids=[survey_round.pk])
        assert list(frame.columns) == services.RESPONSE_COLUMNS and len(frame) == 7
        assert str(frame["submitted_at"].dt.tz) == "UTC" and str(frame["team_id"].dtype) == "Int64"
        members = services.survey_member_frame(survey_round=survey_round)
        assert len(members) == 9  # no bot, nobody who joined after the opening
        results = services.survey_round_results(survey_round=survey_round, min_size=5)
        groups = results.groups.set_index("group")
        assert groups["hidden"].to_dict() == {
            "all": "",
            f"team:{teams['product'].pk}": "",
            f"team:{teams['checkout'].pk}": "subtraction",
            f"team:{teams['search'].pk}": "small",
        }
        assert groups.loc["all", "respondents"] == 7 and groups.loc["all", "members"] == 9
        means = results.means.set_index(["group", "question"])["mean"]
        assert means["all", "overall_satisfaction"] == pytest.approx(25 / 7)
        assert means["all", "ai_hours_saved_per_week"] == 2.0
        assert set(results.means["group"]) == {"all", f"team:{teams['product'].pk}"}
