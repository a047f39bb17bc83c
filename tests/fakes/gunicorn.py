"""gunicorn as docker/entrypoint.sh runs it (``metrics/gunicorn_conf.py``), on a free port of 127.0.0.1, for
the tests that need the real server rather than Django's test client."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_command(port: int, *args: str) -> list[str]:
    """The command line of docker/entrypoint.sh's gunicorn on ``port`` of 127.0.0.1, with ``args`` added."""
    conf = "python:metrics.gunicorn_conf"
    return [sys.executable, "-m", "gunicorn", "-c", conf, "--bind", f"127.0.0.1:{port}", *args]


@contextmanager
def gunicorn(env: dict[str, str], *args: str, port: int = 0, ready_seconds: float = 60) -> Iterator[str]:
    """The server started with ``env`` and the extra command-line ``args``; yields its base URL once it
    answers ``/healthz`` (any status); terminated after."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    quiet = subprocess.DEVNULL
    server = subprocess.Popen(gunicorn_command(port, *args), cwd=ROOT, env=env, stdout=quiet, stderr=quiet)
    try:
        deadline = time.monotonic() + ready_seconds
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()  # noqa: S310 (a local http:// URL)
                break
            except urllib.error.HTTPError:  # 503 while a dependency is down: the server answers
                break
            except OSError:
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
