"""The server side of the load test: the database, the admin credentials, gunicorn and signing in."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.gunicorn import free_port, gunicorn_command

ROOT = Path(__file__).resolve().parent.parent.parent
USERNAME = "load-admin"
TOKEN_NAME = "load test"  # noqa: S105 - the name shown in the admin, not a secret


def server_env(database_url: str, cache_url: str, var_dir: Path) -> dict[str, str]:
    """The environment of a production web process (docker/.env), pointed at the load database."""
    from cryptography.fernet import Fernet

    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_", "SEXTANT_"))}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "metrics.settings",
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SEXTANT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEXTANT_VAR_DIR": str(var_dir),
        "SEXTANT_API_RATE": "1000000/min",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "LOG_LEVEL": "INFO",  # the production default; to the log file
        "PYTHONPATH": str(ROOT),
    }


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = 3, threads: int = 4) -> Iterator[Server]:
    """gunicorn as docker/entrypoint.sh starts it (metrics/gunicorn_conf.py), on a free port; stopped with
    SIGTERM (graceful)."""
    server = Server(free_port(), log)
    env = {**env, "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)}
    command = gunicorn_command(
        server.port, "--access-logfile", str(log.with_suffix(".access.log")), "--error-logfile", str(log)
    )
    with log.open("ab") as out:
        server.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@dataclass
class Server:
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.tail()}")
            with suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s: {self.tail()}")

    def stop(self) -> None:
        """SIGTERM: gunicorn finishes the requests in flight and exits 0; SIGKILL only as a last resort."""
        if self.process is None or self.exit_code is not None:
            return
        with suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.exit_code = -9

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def login(port: int, username: str, password: str) -> str:
    """Sign in through the login form over HTTP; returns the Cookie header of the session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    page = conn.getresponse()
    html = page.read().decode()
    csrf_cookie = _cookie(page.getheader("Set-Cookie", ""), "csrftoken")
    field_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if page.status != 200 or not csrf_cookie or not field_token:
        raise RuntimeError(f"login page: HTTP {page.status}, no CSRF token")
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": field_token.group(1)}
    )
    conn.request(
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
        },
    )
    answer = conn.getresponse()
    answer.read()
    conn.close()
    session = _cookie(", ".join(answer.headers.get_all("Set-Cookie") or []), "sessionid")
    if answer.status != 302 or not session:
        raise RuntimeError(f"login failed: HTTP {answer.status}")
    return f"sessionid={session}; csrftoken={csrf_cookie}"


def _cookie(header: str, name: str) -> str | None:
    match = re.search(rf"(?:^|[\s,;]){name}=([^;,\s]+)", header)
    return match.group(1) if match else None


def credentials() -> tuple[str, str, str]:
    """(username, password, raw API token): an admin user with a fresh password and a fresh admin token."""
    from django.contrib.auth import get_user_model

    from metrics.api.models import ApiToken
    from metrics.api.tokens import api_token_create

    password = secrets.token_urlsafe(16)
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.is_superuser = user.is_staff = user.is_active = True
    user.set_password(password)
    user.save()
    ApiToken.objects.filter(name=TOKEN_NAME).delete()
    _, raw = api_token_create(name=TOKEN_NAME, role=ApiToken.Role.ADMIN)
    return USERNAME, password, raw


def prepare_database(url: str, rows: int, rebuild: bool) -> None:
    """Create the database if missing, then bench/pages.py's build (migrate; reuse when already built)."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    from bench import pages  # its build: 1M PRs, 500 teams, snapshots, AI impact, a survey round

    pages.setup_django()
    pages.build(rows, rebuild)


def flush_cache(url: str) -> None:
    """Start from a cold cache (its own Redis database), as after a deployment."""
    import redis

    redis.Redis.from_url(url).flushdb()
