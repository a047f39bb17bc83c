"""The metric catalog: every metric and every PR phase, defined once.

Every surface reads this module: the snapshot engine (``flow.phase_spans``), the PR explorer's timeline,
the REST API's span columns and their SQL (``api/columns.py``), tooltips, reports and the docs.  A phase
is data (the first known of its start timestamps -> the first known of its end timestamps); ``pr_spans``
applies the rules to one PR and ``flow.phase_spans`` to a frame, so no surface writes a boundary itself.
Pure Python: no Django, no pandas.

Changing a rule or the meaning of a metric changes the numbers: bump ``DEFINITION_VERSION`` (stored on
every snapshot row and exported by the API) and say so in the README's metric table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

DEFINITION_VERSION = "1.3"  # 1.3: DORA's delivery keys; agent-authored PRs left out of ai_assisted_share
QUANTILES = ("p50", "p75", "p90")
PERIODS = ("week", "month")
SCOPES = ("team", "repository", "organization")  # the scopes the pages and the API list

Unit = Literal["hours", "lines", "count", "ratio", "share", "level", "score"]
Better = Literal["lower", "higher"] | None


@dataclass(frozen=True)
class Phase:
    """A span of a PR's life: from the first known ``start`` timestamp to the first known ``end`` one, in
    hours; unknown when either is missing, dropped (unknown, never clipped) when negative."""

    key: str  # "merge_wait"
    label: str  # "merge wait", as pages print it
    start: tuple[str, ...]
    end: tuple[str, ...]
    definition: str

    @property
    def column(self) -> str:
        """The span's column in frames and in the API: ``merge_wait_hours``."""
        return f"{self.key}_hours"

    @property
    def metric(self) -> str:
        """The metric family of the span's quantiles: ``merge_wait_time`` (``_p50`` ...)."""
        return "cycle_time" if self.key == "cycle" else f"{self.key}_time"


# The timestamps the rules read.  ``deployed_at`` is derived: the first successful production deployment
# of the PR's repository at or after its merge (``flow.deploy_spans``).
TIMESTAMPS = (
    "first_commit_at",
    "created_at",
    "ready_at",
    "first_review_at",
    "approved_at",
    "merged_at",
    "deployed_at",
)

PHASES = (
    Phase("cycle", "cycle time", ("first_commit_at",), ("merged_at",), "First commit authored -> PR merged"),
    Phase(
        "coding",
        "coding",
        ("first_commit_at",),
        ("created_at",),
        "First commit authored -> PR opened (only where the opening time is known)",
    ),
    Phase(
        "pickup",
        "pickup",
        ("ready_at", "created_at"),
        ("first_review_at", "approved_at", "merged_at"),
        "Ready for review (else opened; draft time excluded) -> first review or comment by a non-author "
        "non-bot (else first approval, else merge)",
    ),
    # Without a review the rework starts at the approval itself: 0, not unknown.
    Phase(
        "rework",
        "rework",
        ("first_review_at", "approved_at"),
        ("approved_at",),
        "First review -> last approval (0 when approved without a review)",
    ),
    Phase("merge_wait", "merge wait", ("approved_at",), ("merged_at",), "Last approval -> merge"),
    Phase(
        "review",
        "review",
        ("first_review_at",),
        ("merged_at",),
        "First review -> merge (rework + merge wait)",
    ),
    Phase(
        "deploy",
        "deploy",
        ("merged_at",),
        ("deployed_at",),
        "Merge -> first successful production deployment of the repository at or after it",
    ),
)
PHASE = {phase.key: phase for phase in PHASES}
TIMELINE = ("coding", "pickup", "rework", "merge_wait")  # the PR explorer's bar and the team chart's stack
# The team chart's stack: the MEAN of each part over the same PRs (cycle time and every TIMELINE phase
# known), so the parts add up to those PRs' mean cycle time (medians of parts never add up).  "draft" is
# the rest: opened -> ready for review, which pickup excludes (cycle = coding + draft + pickup + rework +
# merge wait for every such PR).
BREAKDOWN = (*TIMELINE, "draft")


def first_known(times: Mapping[str, dt.datetime | None], names: tuple[str, ...]) -> dt.datetime | None:
    return next((times[name] for name in names if times.get(name) is not None), None)


MICROSECONDS_PER_HOUR = 3_600_000_000
_MICROSECOND = dt.timedelta(microseconds=1)


def hours_between(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    """``end - start`` in hours; None when either is unknown or the span is negative.

    Whole microseconds / ``MICROSECONDS_PER_HOUR``: one correctly rounded division of exact integers, the
    same float ``flow.hours_between`` computes in numpy (``timedelta.total_seconds() / 3600`` rounds twice
    and can differ in the last bit)."""
    if start is None or end is None:
        return None
    hours = ((end - start) // _MICROSECOND) / MICROSECONDS_PER_HOUR
    return hours if hours >= 0 else None


def pr_spans(times: Mapping[str, dt.datetime | None]) -> dict[str, float | None]:
    """Every phase's hours of one PR (key -> hours or None) from its timestamps (names in ``TIMESTAMPS``;
    a missing name counts as unknown)."""
    return {p.key: hours_between(first_known(times, p.start), first_known(times, p.end)) for p in PHASES}


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: Unit
    better: Better  # which way is good news; None: no direction (volume, adoption)
    definition: str
    version: str = DEFINITION_VERSION


_SPAN_SUFFIX = "; negative spans dropped; non-bot PRs by merge date."


def _quantiles(family: str, label: str, unit: Unit, text: str) -> list[Metric]:
    return [
        Metric(f"{family}_{q}", f"{label} {q}", unit, "lower", f"{text} ({q}){_SPAN_SUFFIX}")
        for q in QUANTILES
    ]


def _phase_metrics() -> list[Metric]:
    out = []
    for phase in PHASES:
        label = phase.metric.replace("_", " ").capitalize()
        out += _quantiles(phase.metric, label, "hours", f"{phase.definition}, in hours")
    return out


_BREAKDOWN_PRS = (
    "over non-bot merged PRs whose cycle time and coding, pickup, rework and merge-wait spans "
    "are all known, by merge date; the parts add up to phase_mean_cycle"
)


def _breakdown_metrics() -> list[Metric]:
    out = [
        Metric(
            f"phase_mean_{key}",
            f"Mean {PHASE[key].label} (breakdown)",
            "hours",
            "lower",
            f"Mean {PHASE[key].label} hours ({PHASE[key].definition}) {_BREAKDOWN_PRS}.",
        )
        for key in TIMELINE
    ]
    out.append(
        Metric(
            "phase_mean_draft",
            "Mean draft time (breakdown)",
            "hours",
            "lower",
            f"Mean hours from PR opened to ready for review (cycle time minus the four phases) "
            f"{_BREAKDOWN_PRS}.",
        )
    )
    out.append(
        Metric(
            "phase_mean_cycle",
            "Mean cycle time (breakdown)",
            "hours",
            "lower",
            f"Mean cycle time in hours {_BREAKDOWN_PRS}.",
        )
    )
    return out


# Delivery: DORA's five keys (computed by ``analytics/delivery.py``; the rules are in its docstring).
_PRODUCTION = (
    "A production deployment: to a production environment, status success, failure or error, dated when "
    "it finished; by the repository's owning team."
)


def _delivery_metrics() -> list[Metric]:
    return [
        Metric(
            "deployment_frequency",
            "Deployment frequency",
            "count",
            "higher",
            f"Successful production deployments in the period. {_PRODUCTION}",
        ),
        *(
            Metric(
                f"lead_time_for_changes_{q}",
                f"Lead time for changes {q}",
                "hours",
                "lower",
                f"First commit of a PR -> the successful production deployment that shipped it (the first "
                f"at or after its merge), in hours ({q}); non-bot PRs, by deployment date.",
            )
            for q in QUANTILES
        ),
        Metric(
            "change_failure_rate",
            "Change failure rate",
            "share",
            "lower",
            "Share of production deployments that failed: status failure or error, an incident linked to "
            "it, the next successful production deployment of its repository a rollback or a hotfix or "
            "revert, or it shipped a PR reverted within the observation window (default 14 days); only "
            f"deployments whose window has closed count. {_PRODUCTION} Since 1.3 (before: status and "
            "reverts only, organization and repository).",
        ),
        *(
            Metric(
                f"failed_deployment_recovery_time_{q}",
                f"Failed deployment recovery time {q}",
                "hours",
                "lower",
                f"A failed production deployment -> recovered, in hours ({q}): from its first linked "
                "incident's start to its last one's resolution (unknown while one is open), else from the "
                "deployment to the next successful production deployment of its repository.",
            )
            for q in RECOVERY_QUANTILES
        ),
        Metric(
            "deployment_rework_rate",
            "Deployment rework rate",
            "share",
            "lower",
            "Share of successful production deployments that were unplanned fixes of production: a "
            "rollback (a commit an earlier deployment shipped, other than the one just before) or a "
            "deployment shipping a hotfix (branch hotfix/..., label hotfix) or a revert.",
        ),
    ]


RECOVERY_QUANTILES = ("p50", "p90")
DELIVERY = (
    "deployment_frequency",
    *(f"lead_time_for_changes_{q}" for q in QUANTILES),
    "change_failure_rate",
    *(f"failed_deployment_recovery_time_{q}" for q in RECOVERY_QUANTILES),
    "deployment_rework_rate",
)
# The five delivery figures pages and reports headline: each metric at its median.
DELIVERY_HEADLINE = tuple(k for k in DELIVERY if not k.endswith(("_p75", "_p90")))


@dataclass(frozen=True)
class Band:
    """DORA's performance clusters for context: ``bounds`` are (label, inclusive upper limit) from the
    best; a value past the last limit is ``Low``.  Deployment frequency is compared per week."""

    family: str
    bounds: tuple[tuple[str, float], ...]
    source: str = "DORA State of DevOps 2023 performance clusters"


# Lower is better for every family but deployment frequency (whose limits are lower limits).
BANDS = {
    "deployment_frequency": Band(
        "deployment_frequency",
        (("Elite", 7.0), ("High", 1.0), ("Medium", 12 / 52)),
        "DORA 2023: on demand (daily or more), daily to weekly, weekly to monthly, less than monthly",
    ),
    "lead_time_for_changes": Band(
        "lead_time_for_changes",
        (("Elite", 24.0), ("High", 168.0), ("Medium", 720.0)),
        "DORA 2023: under a day, a day to a week, a week to a month, more",
    ),
    "change_failure_rate": Band(
        "change_failure_rate",
        (("Elite", 0.05), ("High", 0.10), ("Medium", 0.15)),
        "DORA 2023: 5%, 10%, 15%, more",
    ),
    "failed_deployment_recovery_time": Band(
        "failed_deployment_recovery_time",
        (("Elite", 1.0), ("High", 24.0), ("Medium", 168.0)),
        "DORA 2023: under an hour, under a day, under a week, more",
    ),
}


def band(metric: str, value: float | None, *, days: float = 7.0) -> str:
    """DORA's cluster of ``value`` of a delivery metric (``days``: the period's length, for deployment
    frequency), or "" where DORA publishes none (rework rate) or the value is unknown."""
    family = metric.rsplit("_p", 1)[0] if metric[-3:] in ("p50", "p75", "p90") else metric
    found = BANDS.get(family)
    if found is None or value is None or value != value:
        return ""
    if family == "deployment_frequency":
        per_week = value * 7.0 / days
        return next((name for name, limit in found.bounds if per_week >= limit), "Low")
    return next((name for name, limit in found.bounds if value <= limit), "Low")


# Issue 17: agent-authored PRs (a coding agent opened the PR: agent author, agent branch, agent label,
# agent session link or telemetry), kept apart from AI-assisted human PRs; monthly, organization and team
# (the team of the engineer who opened it).  Computed by ``analytics/agents.py``.
_AGENT = (
    "Agent-authored PRs (Copilot coding agent, Codex, Devin, Jules, Claude Code in CI, Cursor background "
    "agents)"
)
_AGENT_METRICS = [
    Metric("agent_opened_prs", "Agent PRs opened", "count", None, f"{_AGENT} opened in the month."),
    Metric("agent_merged_prs", "Agent PRs merged", "count", None, f"{_AGENT} merged in the month."),
    Metric(
        "agent_abandoned_prs",
        "Agent PRs abandoned",
        "count",
        "lower",
        f"{_AGENT} closed unmerged in the month.",
    ),
    Metric(
        "agent_abandon_rate",
        "Agent PR abandonment",
        "share",
        "lower",
        f"Of the {_AGENT} opened in the month and since resolved, the share closed unmerged.",
    ),
    Metric(
        "agent_time_to_merge_p50",
        "Agent PR time to merge p50",
        "hours",
        "lower",
        f"Median hours from opened to merged of the {_AGENT} merged in the month.",
    ),
    Metric(
        "agent_review_rounds",
        "Agent PR review rounds",
        "ratio",
        "lower",
        f"Mean review submissions up to the last approval on the {_AGENT} merged in the month.",
    ),
    Metric(
        "agent_followup_commits",
        "Human follow-up commits per agent PR",
        "ratio",
        "lower",
        f"Mean commits by a human (non-bot, no AI author) after the PR was opened, on the {_AGENT} merged in "
        "the month.",
    ),
    Metric(
        "agent_revert_rate",
        "Agent PR revert rate",
        "share",
        "lower",
        f"Share of the {_AGENT} merged in the month reverted within 14 days, counting PRs whose window has "
        "closed.",
    ),
    Metric(
        "agent_cost_per_merged_pr",
        "Cost per merged agent PR",
        "ratio",
        "lower",
        "Usage cost of the agent tools with cost telemetry over their merged agent PRs in the month (a tool "
        "used interactively too gives an upper bound); organization only.",
    ),
]
# Issue 17: review load, per reviewer (person scope), team (the reviewer's team) and organization, monthly
# by the reviewer's first submission on the PR.  Computed by ``analytics/review_load.py``.
_REVIEW_METRICS = [
    Metric(
        "reviews_given",
        "Reviews given",
        "count",
        None,
        "PRs reviewed (one per PR and reviewer), own PRs excluded.",
    ),
    Metric(
        "review_hours_p50",
        "Review hours p50",
        "hours",
        "lower",
        "Median hours from review requested (ready for review, else opened) to the reviewer's approval.",
    ),
    Metric(
        "review_rounds",
        "Review rounds",
        "ratio",
        "lower",
        "Mean review submissions up to a PR's last approval, over the PRs reviewed (1: approved at first "
        "look).",
    ),
    Metric(
        "review_comments_per_100_lines",
        "Review comments per 100 lines",
        "ratio",
        None,
        "Review submissions that comment or request changes per 100 changed lines of the PRs reviewed.",
    ),
    Metric(
        "review_ai_share",
        "Reviews on AI-assisted PRs",
        "share",
        None,
        "Share of the reviews given on AI-assisted human PRs.",
    ),
    Metric(
        "review_agent_share",
        "Reviews on agent PRs",
        "share",
        None,
        "Share of the reviews given on agent-authored PRs.",
    ),
    Metric(
        "quick_large_approvals",
        "Quick approvals of large PRs",
        "count",
        "lower",
        "Approvals within N minutes of ready for review on PRs of more than M changed lines (organization "
        "settings; default 10 minutes, 500 lines).",
    ),
]

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        *_phase_metrics(),
        *_breakdown_metrics(),
        *_quantiles(
            "time_to_revert",
            "Time to revert",
            "hours",
            "Merge -> the revert landing, in hours, for PRs reverted within the observation window "
            "(default 14 days) whose window has closed",
        ),
        *_quantiles("pr_size", "PR size", "lines", "Lines changed (additions + deletions) per merged PR"),
        Metric(
            "merged_prs", "Merged PRs", "count", None, "Pull requests merged in the period, bots excluded."
        ),
        Metric(
            "bot_merged_prs",
            "Merged bot PRs",
            "count",
            None,
            "Pull requests by bots (dependabot, renovate, [bot] accounts) merged in the period.",
        ),
        Metric(
            "throughput_per_engineer",
            "Merged PRs per engineer",
            "ratio",
            "higher",
            "Merged PRs per active engineer (distinct non-bot authors who merged a PR).",
        ),
        Metric(
            "revert_rate",
            "Revert rate",
            "share",
            "lower",
            "Share of the period's merged PRs reverted within the observation window after the merge "
            "(default 14 days; a revert still standing), counting only PRs whose window has closed.",
        ),
        *_delivery_metrics(),
        Metric(
            "ai_adoption_level",
            "AI adoption level",
            "level",
            None,
            "A person's AI use in the month: 0 none, 1 occasional, 2 regular (half of their merged PRs "
            "with evidence, or telemetry on 8+ days).",
        ),
        Metric(
            "ai_adoption_regular_share",
            "Regular AI users",
            "share",
            None,
            "Share of the team's engineers (with a merged PR) who are regular AI users.",
        ),
        Metric(
            "ai_adoption_any_share",
            "Engineers using AI",
            "share",
            None,
            "Share of the team's engineers (with a merged PR) who use AI at least occasionally.",
        ),
        Metric(
            "ai_assisted_share",
            "AI-assisted share",
            "share",
            None,
            "Share of merged PRs with AI evidence (trailers, AI authors, agent branches, labels); a lower "
            "bound.  Agent-authored PRs are not counted (their own class: the agent_* metrics).",
        ),
        *_AGENT_METRICS,
        *_REVIEW_METRICS,
    ]
}
# Not a snapshot metric: read from survey answers, shown beside the metrics (overview, reports).
SATISFACTION = Metric(
    "satisfaction",
    "Satisfaction",
    "score",
    "higher",
    "Mean answer to 'Overall, how satisfied are you with your work as an engineer here?' (1-5) in the "
    "latest survey round; hidden for groups below the privacy floor.",
)
SHOWN: dict[str, Metric] = {**METRICS, SATISFACTION.name: SATISFACTION}
DEFINITIONS: dict[str, str] = {name: metric.definition for name, metric in METRICS.items()}


def metric_is_known(name: str) -> bool:
    """True if the catalog defines the snapshot metric ``name``."""
    return name in METRICS


def label(name: str) -> str:
    """The metric's label; an unknown name reads as itself, capitalized (``foo_bar`` -> ``Foo bar``)."""
    found = SHOWN.get(name)
    return found.label if found else name.replace("_", " ").capitalize()


def better(name: str) -> Better:
    found = SHOWN.get(name)
    return found.better if found else None


def unit(name: str) -> Unit | None:
    found = SHOWN.get(name)
    return found.unit if found else None
