from __future__ import annotations

from django.urls import include, path
from django.views.generic import RedirectView

from metrics.web import (
    delivery,
    experiments,
    impact,
    overview,
    pr_page,
    prs,
    setup_delivery,
    setup_identities,
    setup_org,
    setup_repositories,
    setup_sources,
    setup_teams,
    team,
    views,
)

app_name = "web"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("teams/<slug:slug>/", team.team_detail, name="team"),
    path("prs/", prs.pr_list, name="prs"),
    # A PR's permanent address: its repository's full name (owner/name, GitLab groups/sub/name) and number.
    path("prs/<path:repository>/<int:number>/", pr_page.pr_detail, name="pr"),
    path("ai-impact/", impact.impact, name="impact"),
    path("delivery/", delivery.delivery, name="delivery"),
    path("experiments/", experiments.experiment_list, name="experiments"),
    path("experiments/new/", experiments.experiment_create, name="experiment_create"),
    path("experiments/<int:pk>/", experiments.experiment_detail, name="experiment"),
    path("experiments/<int:pk>/edit/", experiments.experiment_edit, name="experiment_edit"),
    path("experiments/<int:pk>/freeze/", experiments.experiment_freeze, name="experiment_freeze"),
    path("experiments/<int:pk>/revise/", experiments.experiment_revise, name="experiment_revise"),
    path("assets/<str:name>", views.asset, name="asset"),
    path("freshness/", views.freshness, name="freshness"),
    path("surveys/", include("metrics.web.survey_urls")),
    path("settings/", RedirectView.as_view(pattern_name="web:settings_sources"), name="settings"),
    path("settings/sources/", setup_sources.sources, name="settings_sources"),
    path("settings/sources/<int:pk>/test/", setup_sources.source_test, name="settings_source_test"),
    path("settings/sources/<int:pk>/sync/", setup_sources.source_sync_now, name="settings_source_sync"),
    path("settings/sources/<int:pk>/token/", setup_sources.source_secret, name="settings_source_token"),
    path("settings/sources/<int:pk>/toggle/", setup_sources.source_toggle, name="settings_source_toggle"),
    path("settings/sources/<int:pk>/status/", setup_sources.source_status, name="settings_source_status"),
    path("settings/teams/", setup_teams.teams, name="settings_teams"),
    path("settings/teams/import/", setup_teams.teams_import, name="settings_teams_import"),
    path("settings/teams/<slug:slug>/", setup_teams.team_edit, name="settings_team"),
    path("settings/recompute/", setup_teams.recompute, name="settings_recompute"),
    path("settings/repositories/", setup_repositories.repositories, name="settings_repositories"),
    path("settings/costs/", setup_org.costs, name="settings_costs"),
    path("settings/delivery/", setup_delivery.delivery_settings, name="settings_delivery"),
    path("settings/users/", setup_org.users, name="settings_users"),
    path("settings/identities/", setup_identities.identities, name="settings_identities"),
    path("settings/identities/<int:pk>/link/", setup_identities.identity_link, name="settings_identity_link"),
    path("settings/users/<int:pk>/", setup_org.user_edit, name="settings_user"),
]
