"""Metric names and their definitions, as shown in tooltips and reported by the API."""
from __future__ import annotations

from metrics.analytics.snapshots import DEFINITION_VERSION

__all__ = ["DEFINITIONS", "DEFINITION_VERSION"]

QS = ("p50", "p75", "p90")
_SPANS = {
    "cycle_time": "First commit authored -> PR merged, in hours",
    "coding_time": "First commit authored -> PR opened, in hours (only where the opening time is known)",
    "pickup_time": "Ready for review (else opened; draft time excluded) -> first review or comment by a "
    "non-author non-bot (else first approval, else merge), in hours",
    "rework_time": "First review -> last approval, in hours",
    "merge_wait_time": "Last approval -> merge, in hours",
    "review_time": "First review -> merge (rework + merge wait), in hours",
    "deploy_time": "Merge -> first successful production deployment of the repository, in hours",
    "time_to_revert": "Merge -> the revert landing, in hours, for reverted PRs",
    "pr_size": "Lines changed (additions + deletions) per merged PR",
}

DEFINITIONS: dict[str, str] = {
    **{
        f"{metric}_{q}": f"{text} ({q}); negative spans dropped; non-bot PRs by merge date."
        for metric, text in _SPANS.items()
        for q in QS
    },
    "merged_prs": "Pull requests merged in the period, bots excluded.",
    "bot_merged_prs": "Pull requests by bots (dependabot, renovate, [bot] accounts) merged in the period.",
    "throughput_per_engineer": "Merged PRs per active engineer (distinct non-bot authors who merged a PR).",
    "revert_rate": "Share of the period's merged PRs that were later reverted (a revert still standing).",
    "change_failure_rate": "Share of production deployments that failed or shipped a PR later reverted.",
    "ai_adoption_level": "A person's AI use in the month: 0 none, 1 occasional, 2 regular (half of their "
    "merged PRs with evidence, or telemetry on 8+ days).",
    "ai_adoption_regular_share": "Share of the team's engineers (with a merged PR) who are regular AI users.",
    "ai_adoption_any_share": (
        "Share of the team's engineers (with a merged PR) who use AI at least occasionally."
    ),
    "ai_assisted_share": (
        "Share of merged PRs with AI evidence (trailers, AI authors, agent branches, labels); a lower bound."
    ),
}
