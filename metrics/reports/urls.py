from __future__ import annotations

from django.urls import path

from metrics.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.archive, name="archive"),
    path("runs/<int:pk>/pdf/", views.run_pdf, name="run_pdf"),
    path("runs/<int:pk>/", views.run_html, name="run_html"),
    path("schedules/new/", views.schedule_edit, name="schedule_new"),
    path("schedules/<int:pk>/", views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/preview/", views.schedule_preview, name="schedule_preview"),
    path("schedules/<int:pk>/send/", views.schedule_send, name="schedule_send"),
]
