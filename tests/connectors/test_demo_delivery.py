"""The demo organization's deployments and incidents: deterministic and counted in the truth."""

from __future__ import annotations

from connectors.demo import generate_demo
from connectors.records import DeploymentRecord, IncidentRecord

SMALL = {"teams": 4, "engineers": 16, "months": 6}


def test_deployments_and_incidents_match_the_truth() -> None:
    demo = generate_demo(7, **SMALL)
    truth = demo.truth["delivery"]
    deployments = [r for r in demo.records if isinstance(r, DeploymentRecord)]
    incidents = [r for r in demo.records if isinstance(r, IncidentRecord)]
    assert len(deployments) == truth["deployments"] + truth["failed_status"] + truth["rollbacks"] > 50
    assert len(incidents) == truth["incidents"] > 0
    assert sum(1 for d in deployments if d.status == "failure") == truth["failed_status"]
    assert sum(1 for i in incidents if not i.repository) == truth["unlinked_incidents"] >= 1
    assert all(d.is_production and d.finished_at > d.created_at for d in deployments)
    assert all(i.resolved_at is None or i.resolved_at > i.started_at for i in incidents)
    assert len({(d.repository, d.external_id) for d in deployments}) == len(deployments)
    assert len({i.external_id for i in incidents}) == len(incidents)


def test_deterministic() -> None:
    one, two = generate_demo(7, **SMALL), generate_demo(7, **SMALL)
    assert [r for r in one.records if isinstance(r, DeploymentRecord | IncidentRecord)] == [
        r for r in two.records if isinstance(r, DeploymentRecord | IncidentRecord)
    ]
