"""Seats and spend (issue 16, item 3) on the demo organization: a price without seats says "seats unknown"
on the AI impact page, in /api/v1/ai-roi/ and in the executive report, never a silent 0; seats entered
in settings (or imported from CSV) change spend and net value in all three."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from metrics.api.tokens import api_token_create
from metrics.core.models import AITool
from metrics.ingestion.impact import org_settings
from metrics.ingestion.models import AIRoiMonth, AISeatCount
from metrics.ingestion.recompute import recompute_now
from metrics.reports import formatting as fmt
from metrics.reports.periods import period_containing
from metrics.reports.services import report_render
from metrics.web.impact import roi_by_tool, window_start
from tests.reports.conftest import make_schedule, pdf_text

pytestmark = pytest.mark.django_db
# The small demo (seed 7) has too few AI PRs for a measured effect; its self-reported hours of Claude Code
# in November are above the privacy floor, so that net value is the one that moves with spend.
MONTH = dt.date(2026, 11, 1)
TOOL = "Claude Code"


def api_rows(month: dt.date = MONTH) -> list[dict]:
    _, raw = api_token_create(name="cfo", role="executive")
    url = f"/api/v1/ai-roi/?tool={TOOL}&since={month}&until={month}"
    rows = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").json()["results"]
    return [r for r in rows if r["team"] is None]


def report_line(tmp_path: Path, name: str) -> str:
    period = period_containing("monthly", MONTH)
    text = pdf_text(report_render(schedule=make_schedule(name=name), period=period).pdf, tmp_path)
    flat = re.sub(r"[ \t]+", " ", text)
    return next(line.strip() for line in flat.splitlines() if line.strip().startswith(TOOL))


def impact_html(admin_client: Client) -> str:
    return admin_client.get("/ai-impact/").content.decode()


def test_a_price_without_seats_says_seats_unknown_and_entered_seats_make_the_spend(
    demo: None, var_dir: Path, tmp_path: Path, admin_client: Client
) -> None:
    AISeatCount.objects.filter(tool=TOOL).delete()  # the demo's invoice counts: now only the price is known
    recompute_now(reason="test", part="ai_impact")
    row = AIRoiMonth.objects.get(team=None, tool=TOOL, month=MONTH)
    assert row.reported_hours is not None  # so a net value could be known, but for the spend
    assert (row.seats, row.spend, row.spend_note, row.reported_net) == (None, None, "seats unknown", None)
    [api] = api_rows()
    assert (api["seats_known"], api["seats"], api["spend"], api["spend_note"]) == (
        False,
        None,
        None,
        "seats unknown",
    )
    assert api["reported_net"] is None and api["reported_hours"] == pytest.approx(row.reported_hours)
    assert "seats unknown" in report_line(tmp_path, "before")
    html = impact_html(admin_client)
    assert "Seats unknown for" in html and TOOL in html.split("Seats unknown for", 1)[1][:200]

    # Every month of the page's window from a CSV file, then November changed in settings.
    months = AIRoiMonth.objects.filter(team=None, tool=TOOL).values_list("month", flat=True)
    seats_csv = tmp_path / "seats.csv"
    seats_csv.write_text("tool,month,seats\n" + "".join(f"claude code,{m:%Y-%m},7\n" for m in months))
    call_command("import_seats", str(seats_csv), stdout=StringIO())
    response = admin_client.post(
        "/settings/costs/",
        {"action": "seats", "tool": AITool.objects.get(name=TOOL).pk, "month": "2026-11", "seats": "10"},
        follow=True,
    )
    assert "Saved; ROI recomputed." in response.content.decode()
    row = AIRoiMonth.objects.get(team=None, tool=TOOL, month=MONTH)
    price = float(AITool.objects.get(name=TOOL).monthly_seat_cost)
    assert (row.seats, row.spend, row.spend_note) == (10, 10 * price, "seats x price")
    hourly = org_settings()["hourly_cost"]
    assert row.reported_net == pytest.approx(row.reported_hours * hourly - 10 * price)

    [api] = api_rows()
    assert (api["seats_known"], api["seats"], api["spend"]) == (True, 10, 10 * price)
    assert api["reported_net"] == pytest.approx(row.reported_net)
    line = report_line(tmp_path, "after")
    assert fmt.money(10 * price) in line and fmt.money(row.reported_net) in line and "unknown" not in line
    html = impact_html(admin_client)
    assert "Seats unknown for" not in html
    since = window_start(AIRoiMonth.objects.latest("month").month, 12)
    [tool] = [t for t in roi_by_tool(since) if t["tool"] == TOOL]
    spent = sum(r.spend for r in AIRoiMonth.objects.filter(team=None, tool=TOOL, month__gte=since))
    assert tool["spend"] == pytest.approx(spent) and tool["seats_known"]
    assert f"{tool['spend']:,.0f} USD" in html
