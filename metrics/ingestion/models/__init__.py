"""Ingested records and the pipeline's own tables (one module per kind; import them from here)."""

from metrics.ingestion.models.ai import AIImpactEstimate, AIRoiMonth, AISeat, AISeatCount, AIUsageDay
from metrics.ingestion.models.experiments import (
    Experiment,
    ExperimentAssignment,
    ExperimentPlan,
    ExperimentResult,
    FrozenPlanError,
)
from metrics.ingestion.models.pipeline import MetricSnapshot, SnapshotState, SyncRun, WebhookDelivery
from metrics.ingestion.models.records import AIEvidence, Commit, Deployment, PullRequest, Revert, Review
from metrics.ingestion.models.surveys import SurveyResponse, SurveyRound

__all__ = [
    "AIEvidence",
    "AIImpactEstimate",
    "AIRoiMonth",
    "AISeat",
    "AISeatCount",
    "AIUsageDay",
    "Commit",
    "Deployment",
    "Experiment",
    "ExperimentAssignment",
    "ExperimentPlan",
    "ExperimentResult",
    "FrozenPlanError",
    "MetricSnapshot",
    "PullRequest",
    "Revert",
    "Review",
    "SnapshotState",
    "SurveyResponse",
    "SurveyRound",
    "SyncRun",
    "WebhookDelivery",
]
