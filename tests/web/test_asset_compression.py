"""The app's own assets (plotly.js is 4.8 MB) are sent compressed to browsers that accept it, under any
server (`make run`'s runserver included): issue 16, item 6."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import plotly
import pytest
from django.test import Client

PLOTLY = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@pytest.fixture
def var_dir(settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("accept", "encoding", "unpack"),
    [
        ("gzip, deflate", "gzip", gzip.decompress),
        ("gzip, deflate, br, zstd", "br", brotli.decompress),
    ],
)
def test_plotly_is_sent_compressed(client: Client, var_dir: Path, accept: str, encoding: str, unpack) -> None:
    url = f"/assets/plotly.min.js?v={plotly.__version__}"
    response = client.get(url, HTTP_ACCEPT_ENCODING=accept)
    assert response.status_code == 200
    assert response["Content-Encoding"] == encoding and "Accept-Encoding" in response["Vary"]
    body = _body(response)
    assert len(body) < PLOTLY.stat().st_size / 3 and int(response["Content-Length"]) == len(body)
    assert unpack(body) == PLOTLY.read_bytes()
    assert response["Content-Type"].startswith("text/javascript")
    assert response.get("Content-Disposition", "inline").endswith(("inline", '"plotly.min.js"'))
    # Compressed once, then read from var/assets; the ETag names the encoding.
    assert len(list((var_dir / "assets").iterdir())) == 1
    again = client.get(url, HTTP_ACCEPT_ENCODING=accept, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 200


def test_without_accept_encoding_the_file_is_sent_as_it_is(client: Client, var_dir: Path) -> None:
    response = client.get("/assets/sextant.js")
    assert "Content-Encoding" not in response
    assert _body(response) == (Path("metrics/web/static/web/sextant.js")).read_bytes()
    assert not (var_dir / "assets").exists()
