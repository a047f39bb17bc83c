"""Survey pages, included by metrics/web/urls.py under ``surveys/`` (names ``web:surveys:<name>``)."""

from __future__ import annotations

from django.urls import path

from metrics.web import surveys

app_name = "surveys"

urlpatterns = [
    path("", surveys.survey_index, name="index"),
    path("new/", surveys.survey_open, name="open"),
    path("<int:round_id>/", surveys.survey_detail, name="detail"),
    path("<int:round_id>/answer/", surveys.survey_answer, name="answer"),
]
