"""Metric names and their definitions, as shown in tooltips and reported by the API."""
from __future__ import annotations

from metrics.analytics.snapshots import DEFINITION_VERSION

__all__ = ["DEFINITIONS", "DEFINITION_VERSION"]

_CYCLE = (
    "First commit authored -> PR merged, in hours ({q}); negative spans dropped; non-bot PRs by merge date."
)
_CODING = "First commit authored -> PR opened, in hours ({q}); only where the opening time is known."

DEFINITIONS: dict[str, str] = {
    **{f"cycle_time_{q}": _CYCLE.format(q=q) for q in ("p50", "p75", "p90")},
    **{f"coding_time_{q}": _CODING.format(q=q) for q in ("p50", "p75", "p90")},
    "merged_prs": "Pull requests merged in the period, bots excluded.",
    "bot_merged_prs": "Pull requests by bots (dependabot, renovate, [bot] accounts) merged in the period.",
    "throughput_per_engineer": "Merged PRs per active engineer (distinct non-bot authors who merged a PR).",
    "revert_rate": "Share of the period's merged PRs that were later reverted (a revert still standing).",
    **{
        f"time_to_revert_{q}": f"Hours from merge to the revert landing ({q}), for reverted PRs."
        for q in ("p50", "p75", "p90")
    },
    "ai_assisted_share": (
        "Share of merged PRs with AI evidence (trailers, AI authors, agent branches, labels); a lower bound."
    ),
}
