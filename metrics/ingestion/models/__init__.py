"""Ingested records and the pipeline's own tables (one module per kind; import them from here)."""

from metrics.ingestion.models.ai import AIImpactEstimate, AIRoiMonth, AISeat, AISeatCount, AIUsageDay
from metrics.ingestion.models.experiments import (
    Experiment,
    ExperimentAssignment,
    ExperimentPlan,
    ExperimentResult,
    FrozenPlanError,
)
from metrics.ingestion.models.pipeline import (
    MetricSnapshot,
    PendingChange,
    SnapshotState,
    SyncRun,
    WebhookDelivery,
)
from metrics.ingestion.models.records import (
    AIEvidence,
    Commit,
    DeliverySplit,
    Deployment,
    Incident,
    PullRequest,
    Revert,
    Review,
)
from metrics.ingestion.models.surveys import SurveyResponse, SurveyRound
from metrics.ingestion.models.telemetry import (
    AIModelUsageDay,
    CommitAIAttribution,
    TelemetryPoint,
    TelemetrySeries,
)

__all__ = [
    "AIEvidence",
    "AIImpactEstimate",
    "AIModelUsageDay",
    "AIRoiMonth",
    "AISeat",
    "AISeatCount",
    "AIUsageDay",
    "Commit",
    "CommitAIAttribution",
    "DeliverySplit",
    "Deployment",
    "Experiment",
    "ExperimentAssignment",
    "ExperimentPlan",
    "ExperimentResult",
    "FrozenPlanError",
    "Incident",
    "MetricSnapshot",
    "PendingChange",
    "PullRequest",
    "Revert",
    "Review",
    "SnapshotState",
    "SurveyResponse",
    "SurveyRound",
    "SyncRun",
    "TelemetryPoint",
    "TelemetrySeries",
    "WebhookDelivery",
]
