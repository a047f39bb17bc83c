"""AI usage and seats in the database: Copilot (fake GitHub on 127.0.0.1 serving the sample files) and
``import_ai_usage`` CSV files -> records_ingest -> AIUsageDay / AISeat, joined to people by login."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from connectors.base import SourceConfig
from connectors.copilot import CopilotConnector
from connectors.records import AIUsageRecord, IdentityRecord
from metrics.core.models import AITool, Identity, Person
from metrics.ingestion.models import AISeat, AIUsageDay, SyncRun
from metrics.ingestion.services import records_ingest
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import source_create
from tests.fakes.copilot import ORG, FakeCopilot
from tests.fakes.server import FakeApiServer

pytestmark = pytest.mark.django_db

USAGE_FIELDS = (
    "tool",
    "user_key",
    "person_id",
    "day",
    "active",
    "active_users",
    "suggestions",
    "acceptances",
    "lines_suggested",
    "lines_accepted",
    "chat_turns",
    "cost",
    "source",
)


@pytest.fixture
def copilot(fresh_server: FakeApiServer, shared_dir: Path) -> FakeCopilot:
    return FakeCopilot(fresh_server, shared_dir / "data" / "copilot")


def person_with_login(login: str, name: str) -> Person:
    person = Person.objects.create(display_name=name)
    Identity.objects.create(person=person, kind="login", value=login, key=f"login:{login.lower()}")
    return person


def sync_copilot(fake: FakeCopilot) -> dict[str, int]:
    config = SourceConfig(
        kind="copilot", name="copilot", options={"org": ORG, "api_url": fake.url}, secret=fake.token
    )
    return dict(records_ingest(records=list(CopilotConnector(config).records())).counts)


def seat_rows() -> list[tuple]:
    return list(AISeat.objects.order_by("user_key").values_list("user_key", "person_id", "last_activity_at"))


def usage_rows() -> list[tuple]:
    return list(AIUsageDay.objects.order_by("tool", "user_key", "day").values_list(*USAGE_FIELDS))


class TestCopilotUsage:
    def test_usage_and_seats_are_joined_to_people_by_login(self, copilot: FakeCopilot) -> None:
        mona = person_with_login("MonaLisa", "Mona Lisa Octocat")  # the login's case does not matter
        counts = sync_copilot(copilot)
        assert (counts["ai_usage_days"], counts["ai_seats"], counts["memberships"]) == (135, 9, 9)
        assert AIUsageDay.objects.filter(user_key="").count() == 28  # organization totals, no person
        assert not AIUsageDay.objects.filter(user_key="", person__isnull=False).exists()
        monas = AIUsageDay.objects.filter(person=mona).order_by("day")
        assert [(d.day, d.suggestions, d.lines_accepted) for d in monas] == [
            (date(2026, 4, 9), 23, 26),
            (date(2026, 4, 10), 19, 37),
            (date(2026, 4, 24), 107, 1295),
        ]
        assert {d.user_key for d in monas} == {"login:monalisa"}
        seat = AISeat.objects.get(person=mona)
        assert (seat.tool, seat.plan, seat.assigned_at) == (
            "GitHub Copilot",
            "enterprise",
            datetime(2026, 1, 3, 9, tzinfo=UTC),
        )
        # Users not known before are new people with their login, so their PRs join them later.
        octocat = Identity.objects.get(key="login:octocat").person
        assert AIUsageDay.objects.filter(person=octocat).count() == 26
        assert AISeat.objects.filter(person__isnull=True).count() == 0
        day = AIUsageDay.objects.get(user_key="", day=date(2026, 4, 17))
        assert (day.active_users, day.suggestions, day.source) == (4, 406, "copilot-reports")

    def test_a_second_sync_changes_nothing(self, copilot: FakeCopilot) -> None:
        sync_copilot(copilot)
        before, people = usage_rows(), Person.objects.count()
        seats = seat_rows()
        sync_copilot(copilot)
        assert usage_rows() == before and len(before) == 135
        assert seat_rows() == seats and len(seats) == 9
        assert Person.objects.count() == people

    def test_a_configured_source_syncs_and_keeps_its_checkpoint(self, copilot: FakeCopilot) -> None:
        source = source_create(
            kind="copilot", name="copilot", options={"org": ORG, "api_url": copilot.url}, secret=copilot.token
        )
        run = source_sync(source=source)
        assert run.status == SyncRun.Status.SUCCEEDED and not run.error
        counts = run.counts
        assert (counts["api_requests"], counts["report_downloads"]) == (4, 3)
        assert counts["records"] == 135 + 9 + 9  # usage days, seats, team memberships
        assert AIUsageDay.objects.count() == 135 and AISeat.objects.count() == 9
        source.refresh_from_db()
        assert source.checkpoint == {"api": "reports", "last_day": "2026-04-25"}

    def test_a_later_record_of_the_same_day_updates_it(self) -> None:
        first = AIUsageRecord(
            tool="GitHub Copilot",
            day=date(2026, 4, 1),
            user=IdentityRecord(login="ada"),
            active=False,
            suggestions=0,
            source="copilot-reports",
        )
        records_ingest(records=[first])
        records_ingest(
            records=[
                AIUsageRecord(
                    tool="GitHub Copilot",
                    day=date(2026, 4, 1),
                    user=IdentityRecord(login="ada"),
                    active=True,
                    suggestions=12,
                    source="copilot-reports",
                )
            ]
        )
        row = AIUsageDay.objects.get()
        assert (row.active, row.suggestions, row.user_key) == (True, 12, "login:ada")


CSV = """date,user,tool,active,cost
2026-05-04,ada,cursor,true,1.20
2026-05-04,bob@example.com,Claude Code,1,
2026-05-05,ada,Cursor,no,0
2026-05-05,ADA,Claude Code,yes,2.505
"""


def run_import(path: Path) -> str:
    out = StringIO()
    call_command("import_ai_usage", str(path), stdout=out)
    return out.getvalue()


class TestImportAiUsage:
    def test_rows_are_stored_and_joined_to_people(self, tmp_path: Path) -> None:
        AITool.objects.create(name="Cursor", monthly_seat_cost=Decimal("40.00"))
        ada = person_with_login("ada", "Ada")
        path = tmp_path / "usage.csv"
        path.write_text(CSV, encoding="utf-8")
        out = run_import(path)
        assert "Imported 4 daily usage rows of 2 people and 2 tools" in out and "(4 new, 0 updated)" in out
        rows = list(
            AIUsageDay.objects.order_by("day", "tool").values_list(
                "day", "tool", "user_key", "active", "cost", "source"
            )
        )
        assert rows == [
            (date(2026, 5, 4), "Claude Code", "email:bob@example.com", True, None, "csv"),
            (date(2026, 5, 4), "Cursor", "login:ada", True, Decimal("1.20"), "csv"),  # as AITool spells it
            (date(2026, 5, 5), "Claude Code", "login:ada", True, Decimal("2.51"), "csv"),
            (date(2026, 5, 5), "Cursor", "login:ada", False, Decimal("0.00"), "csv"),
        ]
        assert AIUsageDay.objects.filter(person=ada).count() == 3
        bob = Identity.objects.get(key="email:bob@example.com").person
        assert list(AIUsageDay.objects.filter(person=bob).values_list("tool", flat=True)) == ["Claude Code"]

    def test_reimport_is_idempotent(self, tmp_path: Path) -> None:
        path = tmp_path / "usage.csv"
        path.write_text(CSV, encoding="utf-8")
        run_import(path)
        before = usage_rows()
        out = run_import(path)
        assert "(0 new, 4 updated)" in out
        assert usage_rows() == before and len(before) == 4

    def test_every_bad_row_is_reported_and_nothing_is_stored(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.csv"
        path.write_text(
            "date,user,tool,active,cost\n"
            "2026-05-04,ada,Cursor,true,1\n"
            "05/04/2026,ada,Cursor,maybe,-3\n"
            "2026-05-04,ADA,cursor,false,\n"
            "2026-02-30,two words,,1,x\n",
            encoding="utf-8",
        )
        with pytest.raises(CommandError) as info:
            run_import(path)
        message = str(info.value)
        assert message.startswith(f"{path}: 8 problems, fix them all and import again: ")
        for expected in (
            "line 3, column 'date': '05/04/2026' is not a date such as 2024-05-01 (YYYY-MM-DD)",
            "line 3, column 'active': 'maybe' is not true/false, 1/0 or yes/no",
            "line 3, column 'cost': '-3' is not a cost (a number, 0 or more)",
            "line 4, column 'user': 'ADA' already has a 'cursor' row for 2026-05-04 on line 2",
            "line 5, column 'date': '2026-02-30' is not a valid date",
            "line 5, column 'user': 'two words' contains a space",
            "line 5, column 'tool': required, but empty",
            "line 5, column 'cost': 'x' is not a number",
        ):
            assert expected in message
        assert not AIUsageDay.objects.exists() and not Person.objects.exists()

    def test_missing_columns_are_named(self, tmp_path: Path) -> None:
        path = tmp_path / "cols.csv"
        path.write_text("day,user,tool\n2026-05-04,ada,Cursor\n", encoding="utf-8")
        with pytest.raises(CommandError, match=r"missing required column\(s\) 'date', 'active'"):
            run_import(path)
