"""The executive report's experiments section: each planned rollout with a frozen plan and results, its
effects with 95% intervals and n, and the plain-language reading (aggregates only: no names)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from metrics.analytics import experiments as ex
from metrics.ingestion.models import Experiment

METHODS = {
    "itt": "everyone assigned",
    "iv": "on users (assignment as instrument)",
    "staggered": "staggered waves",
}


@dataclass(frozen=True)
class ExperimentLine:
    outcome: str
    method: str
    effect: str
    interval: str
    n: int


@dataclass(frozen=True)
class ExperimentSummary:
    name: str
    plan: str  # "plan v1, frozen 2025-06-30, SHA-256 758eae…"
    through: str
    lines: list[ExperimentLine]
    readings: list[str]


def _unit(unit: str) -> str:
    return {"percent_change": "%", "percentage_points": " pp"}.get(unit, " PRs/wk")


def experiments_section(team_ids: Sequence[int] | None = None) -> list[ExperimentSummary]:
    """Experiments with results; with ``team_ids`` only those whose eligible teams overlap them."""
    found = []
    for experiment in Experiment.objects.select_related("result").order_by("pk"):
        plan, result = experiment.frozen_plan(), getattr(experiment, "result", None)
        if plan is None or result is None:
            continue
        if team_ids and not set(plan.content.get("eligible_team_ids", [])) & set(team_ids):
            continue
        lines, readings = [], []
        for e in result.data.get("effects", []):
            shown, unit = e.get("shown") or {}, _unit(e["unit"])
            ok = e["status"] == "ok"
            lines.append(
                ExperimentLine(
                    outcome=ex.OUTCOME_LABELS.get(e["outcome"], e["outcome"]),
                    method=METHODS.get(e["method"], e["method"]),
                    effect=f"{shown['estimate']:+.1f}{unit}" if ok else e["status"],
                    interval=f"{shown['ci_low']:+.1f} to {shown['ci_high']:+.1f}{unit}" if ok else "—",
                    n=int(e["n"]),
                )
            )
            readings.append(str(e.get("reading", "")))
        frozen = f"{plan.frozen_at:%Y-%m-%d}" if plan.frozen_at else ""
        found.append(
            ExperimentSummary(
                name=experiment.name,
                plan=f"plan v{plan.version}, frozen {frozen}, SHA-256 {plan.sha256[:12]}…",
                through=str(result.data.get("through", "")),
                lines=lines,
                readings=readings,
            )
        )
    return found
