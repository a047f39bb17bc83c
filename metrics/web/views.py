"""Assets served by the app itself: the stylesheet, the page script and plotly.js."""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import plotly
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import condition, require_safe

from metrics.web import queries

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


try:  # brotli is optional: gzip alone already brings plotly.js from 4.8 MB to 1.5 MB
    import brotli
except ImportError:  # pragma: no cover - depends on the installation
    brotli = None

MIN_COMPRESSED = 1024  # smaller files are sent as they are


def _version(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


def _encoding(request: HttpRequest, path: Path) -> str:
    """The encoding to send ``path`` in: "br" or "gzip" when the browser accepts it, else ""."""
    if path.stat().st_size < MIN_COMPRESSED:
        return ""
    accepted = {p.split(";")[0].strip() for p in request.headers.get("Accept-Encoding", "").split(",")}
    if brotli is not None and "br" in accepted:
        return "br"
    return "gzip" if "gzip" in accepted else ""


def _compressed(name: str, path: Path, encoding: str) -> Path:
    """The asset compressed once per version into var/assets (runserver and gunicorn both send the file
    as it is: plotly.js would cross the wire at 4.8 MB); written to a temporary file and renamed, so a
    concurrent request never reads half of it."""
    target = Path(settings.VAR_DIR) / "assets" / f"{name}.{_version(path)}.{encoding}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    data = path.read_bytes()
    packed = brotli.compress(data, quality=9) if encoding == "br" else gzip.compress(data, 9, mtime=0)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
    with os.fdopen(handle, "wb") as out:
        out.write(packed)
    os.replace(temporary, target)
    return target


def _asset_etag(request: HttpRequest, name: str) -> str | None:
    if name not in ASSETS or not ASSETS[name][0].exists():
        return None
    path = ASSETS[name][0]
    encoding = _encoding(request, path)
    return _version(path) + (f"-{encoding}" if encoding else "")


@require_safe
@condition(etag_func=_asset_etag)
def asset(request: HttpRequest, name: str) -> FileResponse:
    """A whitelisted static file; public (the login page needs the CSS), revalidated by ETag."""
    if name not in ASSETS or not ASSETS[name][0].exists():
        raise Http404(f"no asset named {name!r}")
    path, content_type = ASSETS[name]
    encoding = _encoding(request, path)
    sent = _compressed(name, path, encoding) if encoding else path
    response = FileResponse(sent.open("rb"), content_type=content_type, filename=name)
    patch_vary_headers(response, ["Accept-Encoding"])
    if encoding:
        response["Content-Encoding"] = encoding
    # A versioned URL never changes content, so browsers may keep it; otherwise revalidate every time.
    versioned = name == "plotly.min.js" and request.GET.get("v") == plotly.__version__
    response["Cache-Control"] = "public, max-age=31536000, immutable" if versioned else "no-cache"
    return response


@login_required
@require_safe
def freshness(request: HttpRequest) -> JsonResponse:
    """The status bar's times as JSON, polled by ``sextant.js`` so the page says when its figures were
    computed, and that a recompute is under way, without a reload."""
    status = queries.freshness_status()
    moments = {k: status[k].isoformat() if status[k] else None for k in ("synced", "computed", "models")}
    texts = {k: status[k] for k in ("synced_ago", "computed_ago", "models_ago")}
    response = JsonResponse({**moments, **texts, "updating": status["updating"]})
    response["Cache-Control"] = "no-store"
    return response
