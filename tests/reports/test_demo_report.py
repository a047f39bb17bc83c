# ruff: noqa: RUF001 - typographic dashes and minus signs are what the report prints
"""Reports of the demo organization: the PDF's text (pdftotext) against the snapshots and the floored
survey results, the e-mail's structure, dry runs, the archive pages, and per-person data kept out."""

from __future__ import annotations

import datetime as dt
import email
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from metrics.core.models import Person, Team
from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth, MetricSnapshot
from metrics.ingestion.surveys import survey_round_results
from metrics.reports import formatting as fmt
from metrics.reports.content import report_build
from metrics.reports.models import ReportRun
from metrics.reports.periods import period_containing
from metrics.reports.services import report_render
from tests.reports.conftest import make_round, make_schedule, pdf_text

pytestmark = pytest.mark.django_db
OCTOBER = period_containing("monthly", dt.date(2026, 10, 1))


def snapshot(metric: str, start: dt.date, team: Team | None = None, period: str = "month") -> MetricSnapshot:
    scope = {"scope": "team", "team": team} if team else {"scope": "organization"}
    return MetricSnapshot.objects.get(metric=metric, period=period, period_start=start, **scope)


def columns(line: str) -> list[str]:
    return [part for part in re.split(r"\s{2,}", line.strip()) if part]


def card_values(text: str) -> dict[str, str]:
    """KPI label -> value, from the two rows of three cards (pdftotext -layout keeps them side by side)."""
    lines = text.splitlines()
    found: dict[str, str] = {}
    for first in ("CYCLE TIME (MEDIAN)", "REVERT RATE"):
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(first))
        values = next(line for line in lines[at + 1 :] if line.strip())
        found.update(zip(columns(lines[at]), columns(values), strict=True))
    return found


def team_line(text: str, name: str) -> list[str]:
    return next(columns(line) for line in text.splitlines() if columns(line)[:1] == [name])


def surveys() -> dict[str, Team]:
    teams = {t.name: t for t in Team.objects.all()}
    make_round(
        "Pulse Q3",
        dt.datetime(2026, 7, 1, tzinfo=dt.UTC),
        {teams[n]: [3, 3, 4, 3, 2, 3] for n in ("Data", "Checkout", "Search")},
    )
    make_round(  # after the demo's own "Developer pulse, October 2026" (5 October), so the latest round
        "Pulse Q4",
        dt.datetime(2026, 10, 19, tzinfo=dt.UTC),
        {
            teams["Data"]: [4, 4, 3, 5, 4, 3],
            teams["Infrastructure"]: [2, 5],
            teams["Checkout"]: [5, 5, 4, 5, 4, 5],
            teams["Search"]: [4, 3, 4, 4, 3, 4],
        },
    )
    return teams


def test_monthly_report_pdf_shows_the_snapshot_kpis_and_floored_satisfaction(
    demo: None, var_dir: Path, tmp_path: Path
) -> None:
    teams = surveys()
    text = pdf_text(report_render(schedule=make_schedule(), period=OCTOBER).pdf, tmp_path)
    cards = card_values(text)
    start, before = dt.date(2026, 10, 1), dt.date(2026, 9, 1)
    assert cards["CYCLE TIME (MEDIAN)"] == fmt.hours(snapshot("cycle_time_p50", start).value)
    assert cards["THROUGHPUT"] == fmt.ratio(snapshot("throughput_per_engineer", start).value)
    assert cards["MERGED PRS"] == fmt.count(snapshot("merged_prs", start).value)
    assert cards["REVERT RATE"] == fmt.percent(snapshot("revert_rate", start).value)
    assert cards["AI ADOPTION"] == fmt.percent(snapshot("ai_assisted_share", start).value)
    now, then = snapshot("cycle_time_p50", start).value, snapshot("cycle_time_p50", before).value
    assert f"{fmt.relative((now - then) / then)} vs Sep 2026 ({fmt.hours(then)})" in text

    # Satisfaction: exactly what the floored survey analytics shows, never a hidden group.
    from metrics.ingestion.models import SurveyRound

    results = survey_round_results(survey_round=SurveyRound.objects.get(name="Pulse Q4"), min_size=5)
    means = results.means[results.means["question"] == "overall_satisfaction"].set_index("group")["mean"]
    assert cards["SATISFACTION"] == fmt.score(means["all"])
    hidden = set(results.groups.loc[results.groups["hidden"] != "", "name"])
    # Infrastructure has 2 respondents (small); one of the 6-respondent teams would leave 2 of the 20 by
    # subtraction, so it is hidden too.
    assert "Infrastructure" in hidden and (results.groups["hidden"] == "subtraction").sum() == 1
    floored = 0
    for name, team in teams.items():
        row = team_line(text, name)
        key = f"team:{team.pk}"
        assert row[-1] == (fmt.score(means[key]) if key in means.index else "—"), name
        # A team below the privacy floor that month (fewer than MIN_GROUP_SIZE engineers merged) shows "—".
        engineers = snapshot("throughput_per_engineer", start, team)
        large = engineers is not None and engineers.n >= settings.MIN_GROUP_SIZE
        merged, cycle = snapshot("merged_prs", start, team), snapshot("cycle_time_p50", start, team)
        assert row[1] == (fmt.count(merged.value) if large else "—"), name
        assert row[2] == (fmt.hours(cycle.value) if large else "—"), name
        floored += not large
    assert floored, "the demo has a small team: its figures must be left out"
    assert "AI return on investment · October 2026" in text
    adjusted = AIImpactEstimate.objects.get(
        scope="organization", rule="any", outcome="cycle_time", method="adjusted"
    )
    flat = " ".join(text.split())
    if adjusted.status == "ok":
        assert f"cycle time by {fmt.effect_percent(adjusted.estimate)} (95% interval" in flat
    else:
        assert "Not enough data yet for the adjusted AI effect" in flat
    rows = AIRoiMonth.objects.filter(month=start, team__isnull=True)
    assert rows.exists()
    for row in rows:
        line = team_line(text, row.tool)
        assert line[1:3] == [fmt.count(row.ai_prs), fmt.money(row.spend)], row.tool


def test_quarterly_report_of_one_team_sums_its_months_and_marks_the_recombined_median(
    demo: None, var_dir: Path, tmp_path: Path
) -> None:
    product = Team.objects.get(name="Product")
    schedule = make_schedule(name="Product quarterly", period="quarterly", teams=[product])
    q3 = period_containing("quarterly", dt.date(2026, 8, 1))
    text = pdf_text(report_render(schedule=schedule, period=q3).pdf, tmp_path)
    months = [dt.date(2026, m, 1) for m in (7, 8, 9)]
    merged = sum(snapshot("merged_prs", m, product).value or 0 for m in months)
    assert card_values(text)["MERGED PRS"] == fmt.count(merged)
    assert card_values(text)["CYCLE TIME (MEDIAN)"].endswith("†")
    assert "Product quarterly: Q3 2026" in text and "1 Jul – 30 Sep 2026" in text
    assert team_line(text, "Checkout") and not any(
        columns(line)[:1] == ["Platform"] for line in text.splitlines()
    )
    assert "PR-weighted mean" in text


def test_the_report_never_reads_per_person_snapshots(demo: None) -> None:
    person = Person.objects.create(display_name="Sentinel Person")
    MetricSnapshot.objects.create(
        scope="person",
        person=person,
        period="week",
        period_start=dt.date(2026, 11, 16),
        metric="cycle_time_p50",
        value=4242.4,
        n=99,
        definition_version="1.1",
    )
    week = period_containing("weekly", dt.date(2026, 11, 18))
    with CaptureQueriesContext(connection) as queries:
        report = report_build(period=week, team_ids=[])
    snapshot_sql = [q["sql"] for q in queries.captured_queries if "ingestion_metricsnapshot" in q["sql"]]
    assert snapshot_sql, "the report reads snapshots"
    for sql in snapshot_sql:
        assert "'person'" not in sql
        assert re.search(r"""\bscope"? IN \('organization', 'team'\)""", sql), sql
    # The demo's survey rounds are read too: who was asked joins people for ``is_bot``, never their names.
    person_sql = [q["sql"] for q in queries.captured_queries if "core_person" in q["sql"]]
    assert not any("display_name" in sql or "core_identity" in sql for sql in person_sql), person_sql
    rendered = str(report)
    assert "4,242.4" not in rendered and "Sentinel" not in rendered
    assert report.roi.months_label == "October 2026"  # a weekly report shows the latest complete month


def test_send_report_now_sends_a_multipart_email_with_the_pdf_and_archives_the_run(
    demo: None, var_dir: Path, tmp_path: Path, client: Any
) -> None:
    schedule = make_schedule()
    call_command("send_report", "monthly BRIEF", "--now", "--period", "2026-10-20", stdout=StringIO())
    (message,) = mail.outbox
    assert message.to == ["cfo@example.com", "cto@example.com"]
    assert message.subject == "Monthly brief: October 2026 (1–31 Oct 2026)"
    parsed = email.message_from_bytes(message.message().as_bytes())
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, attachment = parsed.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, related = alternative.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert "Cycle time (median): " + fmt.hours(snapshot("cycle_time_p50", dt.date(2026, 10, 1)).value) in (
        plain.get_payload(decode=True).decode()
    )
    html_part, *images = related.get_payload()
    html = html_part.get_payload(decode=True).decode()
    assert related.get_content_type() == "multipart/related" and html_part.get_content_type() == "text/html"
    cids = set(re.findall(r'src="cid:([^"]+)"', html))
    assert cids == {image["Content-ID"].strip("<>") for image in images} and len(images) >= 4
    assert all(image.get_content_type() == "image/png" for image in images)
    assert not re.search(r"""(src|href)=["']?https?:""", html)  # nothing fetched when it is read
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "sextant-monthly-brief-2026-10-01.pdf"
    assert "Monthly brief: October 2026" in pdf_text(attachment.get_payload(decode=True), tmp_path)

    run = ReportRun.objects.get(schedule=schedule)
    assert (run.status, run.attempts, run.period_start) == ("sent", 1, dt.date(2026, 10, 1))
    schedule.refresh_from_db()
    assert schedule.last_period_sent == dt.date(2026, 10, 1)
    assert (Path(settings.VAR_DIR) / "reports" / run.pdf_path).read_bytes() == attachment.get_payload(
        decode=True
    )

    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already sent"):
        call_command("send_report", "Monthly brief", "--now", "--period", "2026-10-20")
    assert len(mail.outbox) == 1

    admin = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(admin)
    page = client.get("/reports/").content.decode()
    assert f'data-run="{run.pk}" data-status="sent"' in page
    download = client.get(f"/reports/runs/{run.pk}/pdf/")
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == attachment.get_payload(decode=True)
    viewer = User.objects.create_user("dev", "dev@example.com", "pw")
    client.force_login(viewer)
    assert client.get(f"/reports/runs/{run.pk}/pdf/").status_code == 403


def test_dry_run_writes_files_sends_nothing_and_a_later_send_takes_the_run_over(
    demo: None, var_dir: Path, tmp_path: Path
) -> None:
    schedule = make_schedule()
    out = tmp_path / "out.txt"
    call_command("send_report", "Monthly brief", "--dry-run", "--period", "2026-10-01", stdout=out.open("w"))
    written = [Path(line.strip()) for line in out.read_text().splitlines() if line.startswith("  ")]
    assert sorted(p.suffix for p in written) == [".eml", ".html", ".pdf", ".txt"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert "nothing sent" in out.read_text() and mail.outbox == []
    run = ReportRun.objects.get(schedule=schedule)
    assert run.status == "dry_run"
    call_command("send_report", "Monthly brief", "--now", "--period", "2026-10-01", stdout=out.open("w"))
    run.refresh_from_db()
    assert run.status == "sent" and len(mail.outbox) == 1


def test_send_report_names_bad_input() -> None:
    from django.core.management.base import CommandError

    make_schedule(name="Weekly")
    with pytest.raises(CommandError, match=r"no report schedule called 'Nope'.*'Weekly'"):
        call_command("send_report", "Nope", "--now")
    with pytest.raises(CommandError, match="not over yet"):
        call_command("send_report", "Weekly", "--now", "--period", timezone.localdate().isoformat())
