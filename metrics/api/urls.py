from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from metrics.api import views
from metrics.api.docs import RedocView, SwaggerView, docs_asset
from metrics.api.experiments import ExperimentAssignmentsApi, ExperimentsApi
from metrics.api.surveys import SurveyResultsApi

app_name = "api"

# The export endpoints; the schema describes exactly these (not other apps' DRF views).
export_urlpatterns = [
    path("teams/", views.TeamListApi.as_view(), name="teams"),
    path("people/", views.PersonListApi.as_view(), name="people"),
    path("repositories/", views.RepositoryListApi.as_view(), name="repositories"),
    path("pull-requests/", views.PullRequestListApi.as_view(), name="pull-requests"),
    path("reviews/", views.ReviewListApi.as_view(), name="reviews"),
    path("reverts/", views.RevertListApi.as_view(), name="reverts"),
    path("deployments/", views.DeploymentListApi.as_view(), name="deployments"),
    path("incidents/", views.IncidentListApi.as_view(), name="incidents"),
    path("metrics/", views.MetricSnapshotListApi.as_view(), name="metrics"),
    path("sync-runs/", views.SyncRunListApi.as_view(), name="sync-runs"),
    path("ai-impact/", views.AIImpactListApi.as_view(), name="ai-impact"),
    path("ai-roi/", views.AIRoiListApi.as_view(), name="ai-roi"),
    path("survey-results/", SurveyResultsApi.as_view(), name="survey-results"),
    path("experiments/", ExperimentsApi.as_view(), name="experiments"),
]

urlpatterns = [
    *export_urlpatterns,
    # The licence hand-out list (names, admins only): an operational download, not a BI export.
    path("experiment-assignments/", ExperimentAssignmentsApi.as_view(), name="experiment-assignments"),
    path(
        "schema/",
        SpectacularAPIView.as_view(patterns=[path("api/v1/", include(export_urlpatterns))]),
        name="schema",
    ),
    path("docs/", SwaggerView.as_view(), name="docs"),
    path("redoc/", RedocView.as_view(), name="redoc"),
    re_path(r"^docs/assets/(?P<path>.+)$", docs_asset, name="docs-asset"),
]
