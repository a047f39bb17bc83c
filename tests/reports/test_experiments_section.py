"""The executive report's experiments section: the demo's staggered rollout with its frozen plan, effects
with intervals and n, and the plain-language reading, in the HTML and the plain text; no names."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from metrics.core.models import Person
from metrics.ingestion.models import Experiment, ExperimentResult
from metrics.reports.content import report_build
from metrics.reports.periods import period_containing
from metrics.reports.rendering import report_html, report_text

pytestmark = pytest.mark.django_db


def test_report_shows_the_demo_experiment() -> None:
    call_command("load_demo", "--seed", "7", "--small", stdout=StringIO(), stderr=StringIO())
    experiment = Experiment.objects.get()
    result = ExperimentResult.objects.get(experiment=experiment)
    cycle = next(e for e in result.data["effects"] if e["outcome"] == "cycle_time")
    report = report_build(
        period=period_containing("monthly", dt.date.fromisoformat(result.data["through"])), team_ids=[]
    )
    html, text = report_html(report, mode="pdf"), report_text(report)
    plan = experiment.frozen_plan()
    assert plan is not None
    for body in (html, text):
        assert experiment.name in body and plan.sha256[:12] in body
        assert cycle["reading"].replace("'", "&#x27;") in body or cycle["reading"] in body
    assert f"{cycle['shown']['estimate']:+.1f}%" in html and f">{cycle['n']}<" in html
    names = set(Person.objects.values_list("display_name", flat=True))
    assert not any(name in html for name in names if len(name) > 3)
