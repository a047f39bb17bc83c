from __future__ import annotations

from django.urls import include, path

from metrics.web import views

app_name = "web"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("teams/<slug:slug>/", views.team_detail, name="team"),
    path("assets/<str:name>", views.asset, name="asset"),
    path("surveys/", include("metrics.web.survey_urls")),
]
