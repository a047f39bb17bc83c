"""Experiment pages and API: admins plan, freeze and revise; a frozen plan refuses edits through the web;
everyone reads aggregate results; only admins get the assignment list (names)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone

from metrics.core.models import Person, Team
from metrics.ingestion import experiments as service
from metrics.ingestion.models import Experiment, ExperimentPlan
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(small_demo: None) -> None:
    """The small demo organization, loaded once for the module (``tests/conftest.py``)."""


def _client(role: str) -> Client:
    client = Client()
    if role == "admin":
        user = make_user(superuser=True)
    else:
        user = make_user(role=role, teams=tuple(Team.objects.all()[:1]) if role == "manager" else ())
    client.force_login(user)
    return client


def _create(client: Client, **extra: str | list[str]) -> Experiment:
    start = timezone.now().date() + dt.timedelta(days=10)
    data = {
        "name": "Pilot",
        "tool": "copilot",
        "unit": "person",
        "design": "randomized",
        "teams": [str(t.pk) for t in Team.objects.all()],
        "waves": start.isoformat(),
        "end": (start + dt.timedelta(weeks=8)).isoformat(),
        "outcomes": ["cycle_time", "throughput"],
        "seed": "42",
        **extra,
    }
    response = client.post("/experiments/new/", data)
    assert response.status_code == 302, response.content
    return Experiment.objects.get(name=data["name"])


def test_admin_plans_sees_power_freezes_and_cannot_edit_after(demo: None) -> None:
    admin = _client("admin")
    experiment = _create(admin)
    page = admin.get(f"/experiments/{experiment.pk}/").content.decode()
    assert "Draft plan (not frozen)" in page and "What this design can detect" in page
    assert "% faster" in page  # a cycle-time MDE from the demo's own history
    # A draft may still change.
    assert admin.post(f"/experiments/{experiment.pk}/edit/", {"outcomes": ["cycle_time"]}).status_code == 302
    assert ExperimentPlan.objects.get(experiment=experiment).content["outcomes"] == ["cycle_time"]
    assert admin.post(f"/experiments/{experiment.pk}/freeze/").status_code == 302
    plan = ExperimentPlan.objects.get(experiment=experiment)
    page = admin.get(f"/experiments/{experiment.pk}/").content.decode()
    assert f"Plan v1: frozen {plan.frozen_at:%Y-%m-%d %H:%M} UTC" in page and plan.sha256 in page
    assert "intact" in page
    refused = admin.post(
        f"/experiments/{experiment.pk}/edit/", {"outcomes": ["revert_rate"], "end": "2099-01-01"}
    )
    assert refused.status_code == 409 and b"frozen" in refused.content
    assert admin.post(f"/experiments/{experiment.pk}/freeze/").status_code == 409
    plan.refresh_from_db()
    assert plan.content["outcomes"] == ["cycle_time"] and service.plan_intact(plan)
    # A changed analysis: a new, visibly later version.
    assert (
        admin.post(
            f"/experiments/{experiment.pk}/revise/",
            {"outcomes": ["cycle_time", "revert_rate"], "reason": "add reverts"},
        ).status_code
        == 302
    )
    page = admin.get(f"/experiments/{experiment.pk}/").content.decode()
    assert "Plan v2: frozen" in page and "add reverts" in page
    v1, v2 = ExperimentPlan.objects.filter(experiment=experiment).order_by("version")
    assert v2.frozen_at > v1.frozen_at and v2.content["supersedes"]["sha256"] == v1.sha256


def test_assignment_csv_is_for_admins_only_with_safe_cells(demo: None) -> None:
    admin = _client("admin")
    experiment = _create(admin)
    admin.post(f"/experiments/{experiment.pk}/freeze/")
    Person.objects.filter(pk=experiment.assignments.first().person_id).update(display_name="=HYPERLINK(1)")
    url = f"/api/v1/experiment-assignments/?experiment={experiment.pk}&format=csv"
    response = admin.get(url)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == experiment.assignments.count() > 0
    assert {r["arm"] for r in rows} == {"treatment", "control"}
    assert "'=HYPERLINK(1)" in {r["person"] for r in rows}
    for role in ("manager", "executive", "viewer"):
        assert _client(role).get(url).status_code == 403
    assert admin.get("/api/v1/experiment-assignments/?experiment=x").status_code == 400


def test_non_admins_read_results_but_cannot_plan(demo: None) -> None:
    demo_experiment = Experiment.objects.get(name=service.DEMO_EXPERIMENT)
    viewer = _client("viewer")
    page = viewer.get(f"/experiments/{demo_experiment.pk}/").content.decode()
    assert "Results (plan v1" in page and "chart-event-study" in page and "In plain words" in page
    assert (
        "Assignment list" not in page and "Plan a rollout" not in viewer.get("/experiments/").content.decode()
    )
    assert viewer.post("/experiments/new/", {"name": "x"}).status_code == 403
    assert viewer.post(f"/experiments/{demo_experiment.pk}/revise/", {"reason": "x"}).status_code == 403
    api = viewer.get("/api/v1/experiments/").json()["results"]
    found = next(e for e in api if e["id"] == demo_experiment.pk)
    effect = next(e for e in found["results"]["effects"] if e["outcome"] == "cycle_time")
    assert effect["ci_low"] < effect["estimate"] < effect["ci_high"] and effect["n"] > 0
    assert found["plan"]["intact"] and len(found["plan"]["sha256"]) == 64
    lines = viewer.get("/api/v1/experiments/?format=csv").content.decode().splitlines()
    assert lines[0].startswith("experiment_id,experiment,plan_version") and len(lines) >= 4


def test_a_bad_plan_is_refused_with_its_reason(demo: None) -> None:
    admin = _client("admin")
    response = admin.post(
        "/experiments/new/",
        {
            "name": "x",
            "tool": "copilot",
            "unit": "person",
            "design": "randomized",
            "waves": "soon",
            "end": "2099-01-01",
            "outcomes": ["cycle_time"],
        },
    )
    assert response.status_code == 400 and b"dates must be YYYY-MM-DD" in response.content
    assert not Experiment.objects.filter(name="x").exists()
