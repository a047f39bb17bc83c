"""The site's URLs plus one view that fails: for the 500 page's test."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from metrics.urls import urlpatterns as site


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("planted failure")


urlpatterns = [*site, path("boom/", boom)]
