"""The demo organization's deployments and incidents (the Delivery page and DORA's keys have data on first
run).  Drawn from their own random stream, so the PRs, reviews and truths of a seed do not change.

Each repository deploys to production on weekdays at its own cadence when something merged since its last
deployment (the deployed commit: the merge of the last PR merged before it); a few deployments fail and are
retried an hour later; a deployment that shipped a later-reverted PR causes an incident more often; some
incidents are rolled back (the previous deployment's commit deployed again), some overlap, some belong to
a service mapped to no repository (linked to nothing).  Planted counts go to the truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.demo_model import _PR
from connectors.demo_records import merge_sha
from connectors.demo_vocab import REPOS
from connectors.records import DeploymentRecord, IncidentRecord

CADENCE = {"web": 0.85, "api": 0.7, "mobile": 0.25, "infra": 0.45, "data-pipeline": 0.35}
SEVERITIES = ("SEV1", "SEV2", "SEV2", "SEV3", "SEV3", "SEV3")
TITLES = (
    "Elevated 5xx on checkout",
    "Login latency",
    "Queue backlog",
    "Search returns nothing",
    "Jobs stuck",
)
SALT = 0x5EED_DE11


def build_delivery(
    seed: int, start: datetime, end: datetime, prs: list[_PR]
) -> tuple[list[DeploymentRecord | IncidentRecord], dict[str, Any]]:
    """(records, truth counts) of every repository's production deployments and incidents."""
    rng = random.Random(seed ^ SALT)  # noqa: S311 - demo data, not security
    out: list[DeploymentRecord | IncidentRecord] = []
    counts = {"deployments": 0, "failed_status": 0, "rollbacks": 0, "incidents": 0, "unlinked_incidents": 0}
    for repo in REPOS:
        merged = sorted(
            (p for p in prs if p.repo == repo and p.state == "merged" and p.t.get("merged") and not p.is_bot),
            key=lambda p: p.t["merged"],  # type: ignore[arg-type, return-value]
        )
        _repository(_Run(seed, repo, start, end, rng, prs, out, counts), merged)
    for k in range(max(1, int((end - start).days / 60))):  # a service no repository maps to
        started = start + (end - start) * rng.random()
        out.append(_incident(f"OG{k}", started, rng.uniform(0.5, 6), end, rng, service="legacy-batch"))
        counts["incidents"] += 1
        counts["unlinked_incidents"] += 1
    return out, counts


@dataclass
class _Run:
    seed: int
    repo: str
    start: datetime
    end: datetime
    rng: random.Random
    prs: list[_PR]
    out: list[DeploymentRecord | IncidentRecord]
    counts: dict[str, int]
    n: int = 0

    def deploy(self, sha: str, at: datetime, status: str) -> None:
        self.n += 1
        self.out.append(_deployment(f"acme/{self.repo}", f"{self.repo}-{self.n}", sha, at, status, self.rng))


def _repository(run: _Run, merged: list[_PR]) -> None:
    rng, day, i, previous_sha = run.rng, run.start, 0, ""
    while day < run.end:
        day += timedelta(days=1)
        at = day.replace(hour=15, minute=rng.randint(0, 50))
        if at.weekday() >= 5 or rng.random() > CADENCE[run.repo] or at > run.end:
            continue
        shipped = []
        while i < len(merged) and merged[i].t["merged"] <= at:  # type: ignore[operator]
            shipped.append(merged[i])
            i += 1
        if not shipped:
            continue
        sha = merge_sha(run.seed, shipped[-1])
        if rng.random() < 0.04:  # fails; retried an hour later
            run.deploy(sha, at, "failure")
            run.counts["failed_status"] += 1
            at += timedelta(hours=1)
        run.deploy(sha, at, "success")
        run.counts["deployments"] += 1
        reverted = any(_reverted(p, run.prs) for p in shipped)
        if rng.random() < (0.2 if reverted else 0.05):
            _incidents(run, at, previous_sha)
        previous_sha = sha


def _incidents(run: _Run, at: datetime, previous_sha: str) -> None:
    """An incident after the deployment at ``at``: sometimes rolled back, sometimes with a second alert."""
    rng, name = run.rng, f"acme/{run.repo}"
    started = at + timedelta(hours=rng.uniform(0.5, 20))
    if started >= run.end:
        return
    hours = rng.lognormvariate(0.7, 0.8)
    if previous_sha and rng.random() < 0.3:
        back = started + timedelta(minutes=rng.randint(20, 90))
        if back < run.end:
            run.deploy(previous_sha, back, "success")
            run.counts["rollbacks"] += 1
            hours = (back - started).total_seconds() / 3600 + 0.25
    run.out.append(_incident(f"PD{len(run.out)}", started, hours, run.end, rng, repository=name))
    run.counts["incidents"] += 1
    if rng.random() < 0.1:  # a second alert while the first is open
        overlap = started + timedelta(hours=hours * rng.uniform(0.1, 0.8))
        run.out.append(_incident(f"PD{len(run.out)}", overlap, hours, run.end, rng, repository=name))
        run.counts["incidents"] += 1


def _reverted(pr: _PR, prs: list[_PR]) -> bool:
    return any(p.reverts is pr and p.state == "merged" for p in prs)


def _deployment(
    repo: str, ext: str, sha: str, at: datetime, status: str, rng: random.Random
) -> DeploymentRecord:
    return DeploymentRecord(
        repository=repo,
        external_id=ext,
        environment="production",
        sha=sha,
        status=status,
        created_at=at,
        finished_at=at + timedelta(minutes=rng.randint(6, 25)),
        is_production=True,
        source="github_deployments",
        url=f"https://github.example/{repo}/deployments/{ext}",
    )


def _incident(
    ext: str, started: datetime, hours: float, end: datetime, rng: random.Random, **where: str
) -> IncidentRecord:
    resolved = started + timedelta(hours=hours)
    return IncidentRecord(
        source="pagerduty" if ext.startswith("PD") else "opsgenie",
        external_id=ext,
        started_at=started,
        title=rng.choice(TITLES),
        resolved_at=resolved if resolved <= end else None,
        severity=rng.choice(SEVERITIES),
        url=f"https://pagerduty.example/incidents/{ext}",
        **where,
    )
