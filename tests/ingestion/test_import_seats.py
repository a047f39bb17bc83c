"""``manage.py import_seats FILE.csv`` (tool, month YYYY-MM, seats) and the seats form of the costs page:
one-line errors naming line and column, nothing stored from a file with any bad row, a re-import
changes nothing, and the stored seats make the spend of the ROI rows."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from metrics.core.models import AITool
from metrics.ingestion.models import AISeatCount

pytestmark = pytest.mark.django_db


def run(path: Path) -> str:
    out = StringIO()
    call_command("import_seats", str(path), stdout=out)
    return out.getvalue()


def test_import_stores_seats_per_tool_and_month_and_is_idempotent(tmp_path: Path) -> None:
    AITool.objects.create(name="Cursor", monthly_seat_cost=40)
    path = tmp_path / "seats.csv"
    path.write_text("Tool,Month,Seats\ncursor,2026-09,12\nClaude Code,2026-09,4\ncursor,2026-10,14\n")
    out = run(path)
    assert "Imported seats for 3 tool-months of 2 tools" in out and "(3 new, 0 updated)" in out
    stored = set(AISeatCount.objects.values_list("tool", "month", "seats", "source"))
    assert ("Cursor", dt.date(2026, 10, 1), 14, "csv") in stored  # the configured tool's spelling
    assert len(stored) == 3
    assert "(0 new, 3 updated)" in run(path) and AISeatCount.objects.count() == 3


GOOD = "tool,month,seats\nCopilot,2026-09,5\n"  # line 2 is good: a later bad line still stores nothing


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (GOOD + "Cursor,2026-13,3\n", "line 3, column 'month': '2026-13' is not a month (01 to 12)"),
        (GOOD + "Cursor,10/2026,3\n", "line 3, column 'month': '10/2026' is not a month such as"),
        (GOOD + "Cursor,2999-01,3\n", "line 3, column 'month': '2999-01' is outside 1970-01 to"),
        (GOOD + "Cursor,2026-10,-2\n", "line 3, column 'seats': -2 is negative"),
        (GOOD + "Cursor,2026-10,many\n", "line 3, column 'seats': 'many' is not a whole number"),
        (GOOD + ",2026-10,3\n", "line 3, column 'tool': required, but empty"),
        (GOOD + "Cursor,2026-10,3\nCURSOR,2026-10,4\n", "line 4, column 'month': 'CURSOR' already has seats"),
        ("tool,seats\nCursor,3\n", "month"),
    ],
)
def test_a_bad_row_is_one_line_naming_line_and_column_and_nothing_is_stored(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "seats.csv"
    path.write_text(content)
    with pytest.raises(CommandError) as raised:
        run(path)
    message = str(raised.value)
    assert "\n" not in message and expected in message, message
    assert not AISeatCount.objects.exists()


def test_the_costs_page_saves_and_refuses_seats(admin_client: Client) -> None:
    tool = AITool.objects.create(name="Cursor", monthly_seat_cost=40)
    response = admin_client.post(
        "/settings/costs/",
        {"action": "seats", "tool": tool.pk, "month": "2026-10", "seats": "9"},
        follow=True,
    )
    assert "Saved; ROI recomputed." in response.content.decode()
    assert AISeatCount.objects.get().seats == 9
    assert "Oct 2026" in admin_client.get("/settings/costs/").content.decode()
    bad = admin_client.post(
        "/settings/costs/", {"action": "seats", "tool": "999", "month": "2026", "seats": "-1"}
    )
    body = bad.content.decode()
    assert bad.status_code == 400 and "choose one of the AI tools" in body
    assert "is not a month such as 2026-10" in body and "-1 is negative" in body
    seat_count = AISeatCount.objects.get().pk
    admin_client.post("/settings/costs/", {"action": "seats_delete", "seat_count": seat_count})
    assert not AISeatCount.objects.exists()
