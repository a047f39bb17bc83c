"""Assets served by the app itself: the stylesheet, the page script and plotly.js."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.views.decorators.http import condition, require_safe

STATIC = Path(__file__).resolve().parent / "static" / "web"

# The assets are served by the app itself so that pages work offline and without a separate static
# server (embedded mode runs with DEBUG off, where runserver serves no static files).  plotly.js is
# streamed from the installed plotly package, so its version always matches what the pages expect.
ASSETS: dict[str, tuple[Path, str]] = {
    "sextant.css": (STATIC / "sextant.css", "text/css"),
    "sextant.js": (STATIC / "sextant.js", "text/javascript"),
    "plotly.min.js": (
        Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js",
        "text/javascript",
    ),
}


def plotly_url() -> str:
    return f"{reverse('web:asset', args=['plotly.min.js'])}?v={plotly.__version__}"


def _asset_etag(request: HttpRequest, name: str) -> str | None:
    if name not in ASSETS or not ASSETS[name][0].exists():
        return None
    stat = ASSETS[name][0].stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


@require_safe
@condition(etag_func=_asset_etag)
def asset(request: HttpRequest, name: str) -> FileResponse:
    """A whitelisted static file; public (the login page needs the CSS), revalidated by ETag."""
    if name not in ASSETS or not ASSETS[name][0].exists():
        raise Http404(f"no asset named {name!r}")
    path, content_type = ASSETS[name]
    response = FileResponse(path.open("rb"), content_type=content_type)
    # A versioned URL never changes content, so browsers may keep it; otherwise revalidate every time.
    versioned = name == "plotly.min.js" and request.GET.get("v") == plotly.__version__
    response["Cache-Control"] = "public, max-age=31536000, immutable" if versioned else "no-cache"
    return response
