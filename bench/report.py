#!/usr/bin/env python
"""Benchmark: render the monthly executive report (content, charts, HTML, PDF) of a 50-team organization.

Builds, in a fresh SQLite database under a temporary SEXTANT_VAR_DIR, an organization of 5 groups of 9
teams (50 teams), 14 months of organization and team snapshots, AI ROI rows for three tools and two
survey rounds, then in the same run (best of --repeat) times
  baseline:  the same report for one team (the fixed costs: fonts, charts, one short table)
  sextant:   the report for the whole organization (all 50 teams in the team table)
and prints seconds, the ratio to the baseline, the page count, and the target (< 10 s).

Usage: python bench/report.py [--teams 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["SEXTANT_VAR_DIR"] = tempfile.mkdtemp(prefix="sextant-bench-report-")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metrics.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from metrics.core.models import Team  # noqa: E402
from metrics.ingestion.models import AIRoiMonth, MetricSnapshot, SurveyResponse, SurveyRound  # noqa: E402
from metrics.reports.content import report_build  # noqa: E402
from metrics.reports.periods import period_containing  # noqa: E402
from metrics.reports.rendering import report_html, report_pdf  # noqa: E402

MONTHS = [dt.date(2025 + (9 + i) // 12, (9 + i) % 12 + 1, 1) for i in range(14)]  # Oct 2025 .. Nov 2026


def build(teams: int) -> list[Team]:
    rng = random.Random(7)
    parents = [Team.objects.create(name=f"Group {g}", slug=f"group-{g}") for g in range(5)]
    children = [
        Team.objects.create(name=f"Team {i:02d}", slug=f"team-{i:02d}", parent=parents[i % 5])
        for i in range(teams - len(parents))
    ]
    rows = []
    for unit in [None, *parents, *children]:
        size = 40 if unit is None else 8 if unit.parent_id else 72
        for month in MONTHS:
            prs = size * rng.uniform(3, 6)
            for metric, value, n in (
                ("cycle_time_p50", rng.uniform(15, 60), prs),
                ("merged_prs", prs, prs),
                ("throughput_per_engineer", prs / size, size),
                ("revert_rate", rng.uniform(0, 0.08), prs),
                ("ai_assisted_share", rng.uniform(0.1, 0.5), prs),
            ):
                rows.append(
                    MetricSnapshot(
                        scope="team" if unit else "organization",
                        team=unit,
                        period="month",
                        period_start=month,
                        metric=metric,
                        value=value,
                        n=int(n),
                        definition_version="1.1",
                    )
                )
    MetricSnapshot.objects.bulk_create(rows, batch_size=2000)
    AIRoiMonth.objects.bulk_create(
        [
            AIRoiMonth(
                month=month,
                tool=tool,
                ai_prs=120,
                spend=1900.0,
                measured_hours=300.0,
                measured_hours_low=150.0,
                measured_hours_high=450.0,
                measured_net=28100.0,
                measured_net_low=13100.0,
                measured_net_high=43100.0,
            )
            for month in MONTHS
            for tool in ("Claude Code", "Cursor", "GitHub Copilot")
        ]
    )
    for r, opened in enumerate(
        (dt.datetime(2026, 6, 1, tzinfo=dt.UTC), dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    ):
        survey_round = SurveyRound.objects.create(name=f"Pulse {r}", opened_at=opened)
        survey_round.teams.set(children)
        SurveyResponse.objects.bulk_create(
            [
                SurveyResponse(
                    survey_round=survey_round,
                    team=team,
                    submitted_at=opened,
                    source="csv",
                    overall_satisfaction=rng.randint(2, 5),
                    ease_of_shipping=3,
                    external_id=f"{r}:{team.pk}:{i}",
                )
                for team in children
                for i in range(rng.choice([3, 6, 7]))
            ]
        )
    return children


def render(team_ids: list[int], out: Path | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    report = report_build(period=period_containing("monthly", dt.date(2026, 10, 1)), team_ids=team_ids)
    pdf = report_pdf(report_html(report, mode="pdf"))
    elapsed = time.perf_counter() - start
    if out:
        out.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    pages = next(int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:"))
    return elapsed, pages


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the organization's PDF here")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    children = build(args.teams)
    render([children[0].pk])  # warm-up: font loading, template compilation
    baseline = min(render([children[0].pk])[0] for _ in range(args.repeat))
    timings = [render([], args.out if i == 0 else None) for i in range(args.repeat)]
    best, pages = min(timings)
    print(f"teams: {Team.objects.count()}  snapshots: {MetricSnapshot.objects.count()}")
    print(f"baseline (1 team):       {baseline:6.2f} s")
    print(
        f"sextant ({Team.objects.count()} teams):      {best:6.2f} s  ({pages} pages)  "
        f"ratio {best / baseline:.2f}x"
    )
    print(f"target < 10 s: {'met' if best < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
