"""OpenAPI schema and docs UI (Swagger UI, Redoc) served from the installed drf-spectacular-sidecar:
no CDN, so the docs work on an air-gapped installation."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.views.static import serve
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.request import Request

from metrics.core.security import CONTENT_SECURITY_POLICY

try:
    import drf_spectacular_sidecar
except ImportError:  # docs UI unavailable; the schema itself is still served
    ASSETS: Path | None = None
else:
    ASSETS = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"

MISSING = "Install drf-spectacular-sidecar for the docs UI; the schema is at /api/v1/schema/."


def _asset(path: str) -> str:
    return reverse("api:docs-asset", args=[path])


def docs_asset(request: HttpRequest, path: str) -> HttpResponseBase:
    if ASSETS is None:
        raise Http404(MISSING)
    if ".." in path.split("/") or "\\" in path or not path.startswith(("swagger-ui-dist/", "redoc/")):
        raise Http404("no such docs asset")
    if path == REDOC_BUNDLE:
        return HttpResponse(_redoc_bundle(), content_type="text/javascript; charset=utf-8")
    return serve(request, path, document_root=str(ASSETS))


REDOC_BUNDLE = "redoc/bundles/redoc.standalone.js"
# The bundle's menu footer shows Redocly's logo from their CDN (no option turns it off): an empty source
# makes no request, and the bundle's own error handler then leaves the logo out.
REDOC_LOGO = b'"https://cdn.redoc.ly/redoc/logo-mini.svg"'


@functools.cache
def _redoc_bundle() -> bytes:
    return (Path(str(ASSETS)) / REDOC_BUNDLE).read_bytes().replace(REDOC_LOGO, b'""')


class SwaggerView(SpectacularSwaggerSplitView):
    """The page and its start-up script as two requests (``?script``): the CSP allows no inline script."""

    url_name = "api:schema"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return _asset(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return _asset("swagger-ui-dist/favicon-32x32.png")

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if ASSETS is None:
            return HttpResponse(MISSING, content_type="text/plain", status=501)
        return super().get(request, *args, **kwargs)


class RedocView(SpectacularRedocView):
    url_name = "api:schema"
    template_name = "api/redoc.html"  # the package's, without its Google Fonts links

    @staticmethod
    def _redoc_standalone() -> str:
        return _asset(REDOC_BUNDLE)

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if ASSETS is None:
            return HttpResponse(MISSING, content_type="text/plain", status=501)
        response = super().get(request, *args, **kwargs)
        # Redoc runs its search in a Web Worker made from a blob of its own bundle: allowed on this page
        # only (blocked, the browser logs an error and the search runs on the page's thread).
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY + "; worker-src 'self' blob:"
        return response
