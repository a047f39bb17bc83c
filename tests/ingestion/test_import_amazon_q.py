"""``manage.py import_amazon_q``: Amazon Q Developer's per-user daily activity CSV (documented columns), exact
stored values, idempotent re-import, every bad cell reported with nothing stored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from metrics.core.models import Identity
from metrics.ingestion.models import AIUsageDay

HEADER = (
    "UserId,Date,Chat_AICodeLines,Chat_MessagesInteracted,Chat_MessagesSent,Dev_AcceptedLines,"
    "InlineChat_AcceptedLineAdditions,InlineChat_AcceptedLineDeletions,Inline_AICodeLines,"
    "Inline_AcceptanceCount,Inline_SuggestionsCount\n"
)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "123456789012_by_user_analytic_1730000000.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.mark.django_db
def test_rows_become_daily_usage_with_exact_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "90676d4b-6011-70a1-5f4c-fe37a5d1a2b3,2026-11-02,12,3,8,40,5,2,30,7,25\n"
        "90676d4b-6011-70a1-5f4c-fe37a5d1a2b3,11-03-2026,0,0,0,0,0,0,4,1,9\n"
        "a1b2c3d4-0000-1111-2222-333344445555,11/03/2026,1,1,2,,,,,,\n",
    )
    call_command("import_amazon_q", str(path))
    first = AIUsageDay.objects.get(tool="Amazon Q Developer", day=date(2026, 11, 2))
    assert first.user_key == "login:90676d4b-6011-70a1-5f4c-fe37a5d1a2b3"
    assert (first.suggestions, first.acceptances, first.chat_turns) == (25, 7, 8)
    assert (first.lines_accepted, first.lines_added, first.lines_removed) == (12 + 40 + 5 + 30, 87, 2)
    assert first.extra["dev_acceptedlines"] == 40 and first.source == "amazon-q-csv"
    other = AIUsageDay.objects.get(user_key="login:a1b2c3d4-0000-1111-2222-333344445555")
    assert (other.day, other.lines_added, other.suggestions) == (date(2026, 11, 3), 1, None)
    assert AIUsageDay.objects.count() == 3
    assert Identity.objects.filter(kind="login", value="90676d4b-6011-70a1-5f4c-fe37a5d1a2b3").count() == 1
    call_command("import_amazon_q", str(path))  # again: nothing doubled
    assert AIUsageDay.objects.count() == 3


@pytest.mark.django_db
def test_bad_cells_are_all_reported_and_nothing_is_stored(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "u1,2026-11-02,1,1,1,1,1,1,1,1,1\n"
        "u2,2026-13-45,1,1,1,1,1,1,1,1,1\n"
        "u3,2026-11-02,1,1,1,1,1,1,1,-4,1\n"
        "u1,2026-11-02,1,1,1,1,1,1,1,1,1\n",
    )
    with pytest.raises(CommandError) as error:
        call_command("import_amazon_q", str(path))
    message = str(error.value)
    assert "line 3" in message and "'date'" in message
    assert "line 4" in message and "inline_acceptancecount" in message and "negative" in message
    assert "line 5" in message and "already has a row" in message
    assert AIUsageDay.objects.count() == 0
