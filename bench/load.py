#!/usr/bin/env python
"""Load test: 50 concurrent clients against real gunicorn + PostgreSQL with 1,000,000 PRs.

Builds (or reuses; the build is bench/pages.py's: 1,000,000 PRs, 500 teams, 5,000 engineers, 2.3 million
snapshots, AI-impact estimates, a survey round) the PostgreSQL database --database-url, migrates it,
creates an admin user and an admin API token, starts gunicorn the way docker/entrypoint.sh does
(metrics.wsgi, 3 workers x 4 threads, Redis cache) on a free port of 127.0.0.1, signs in over HTTP, then
runs --clients closed-loop clients for --seconds after a --warmup.  Each client keeps one connection alive
(--no-keepalive: a new one per request, as behind a proxy without upstream keep-alive) and sends its next
request as soon as the last one is answered (--think S: after a random pause of S seconds on average).
Each request is drawn from a fixed, weighted mix (each client starts on a different endpoint):
  REST export with the token: pull requests (team + since, page 1 and the next cursor page; repository +
  state + AI filters; CSV of a team's last 90 days), metric snapshots (team weekly, organization monthly,
  CSV of a team's months), teams, people, repositories, reviews, AI impact, survey results;
  pages with the session cookie: overview, team dashboard, PR explorer with filters, AI impact.
Prints the first request of each endpoint (one at a time, cold caches), where the CPU went during the run
(gunicorn and PostgreSQL per request, the load generator, everything else on the shared machine), the
total, throughput, p50/p90/p99/max overall and per endpoint, and the errors (a non-2xx status, an
unexpected content type or a connection error; the first few samples).  Exits 1 when there was an error
or p99 >= 1 s.  The per-token API throttle is raised for the run (all clients share one token: this
measures the server, not the throttle).

Usage: python bench/load.py [--clients 50] [--seconds 60] [--think 0] [--rows 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/sextant_load"
DEFAULT_CACHE = "redis://127.0.0.1:6379/14"
P99_TARGET_S = 1.0
SAMPLES = 5  # error samples kept
USERNAME = "load-admin"
TOKEN_NAME = "load test"  # noqa: S105 - the name shown in the admin, not a secret
JSON, CSV, HTML = "application/json", "text/csv", "text/html"


# --- what the clients request ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """What the data holds, so every URL names something that exists."""

    leaf_teams: list[str]
    parent_teams: list[str]
    repositories: list[str]
    survey_round: int | None
    newest: dt.date  # newest merge date


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # "api" (token) or "page" (session cookie)
    weight: int
    content_type: str
    path: Callable[[random.Random], str]
    follow_next: bool = False  # also GET the JSON "next" link (a cursor page), recorded as "<name> next"


def targets() -> Targets:
    """Read the targets from the database of the configured Django settings."""
    from django.db.models import Max

    from metrics.core.models import Repository, Team
    from metrics.ingestion.models import PullRequest, SurveyRound

    teams = list(Team.objects.values_list("id", "slug", "parent_id"))
    parents = {parent for _, _, parent in teams if parent is not None}
    newest = PullRequest.objects.aggregate(newest=Max("merged_at"))["newest"]
    survey_round = SurveyRound.objects.order_by("-opened_at").values_list("id", flat=True).first()
    return Targets(
        leaf_teams=sorted(slug for pk, slug, _ in teams if pk not in parents),
        parent_teams=sorted(slug for pk, slug, _ in teams if pk in parents),
        repositories=sorted(Repository.objects.values_list("full_name", flat=True)),
        survey_round=survey_round,
        newest=newest.date() if newest else dt.datetime.now(dt.UTC).date(),
    )


def mix(t: Targets) -> list[Endpoint]:
    """The weighted mix: about 60% REST export, 40% pages."""
    if not t.leaf_teams or not t.repositories:
        raise SystemExit("the database has no teams or repositories to load")
    groups = t.parent_teams or t.leaf_teams

    def q(path: str, **params: object) -> str:
        return f"{path}?{urllib.parse.urlencode(params)}" if params else path

    def days(n: int) -> str:
        return (t.newest - dt.timedelta(days=n)).isoformat()

    def leaf(r: random.Random) -> str:
        return r.choice(t.leaf_teams)

    def group(r: random.Random) -> str:
        return r.choice(groups)

    def repo(r: random.Random) -> str:
        return r.choice(t.repositories)

    api = "/api/v1"
    endpoints = [
        Endpoint(
            "api pull-requests team+since",
            "api",
            12,
            JSON,
            lambda r: q(f"{api}/pull-requests/", team=leaf(r), since=days(365), page_size=50),
            follow_next=True,
        ),
        Endpoint(
            "api pull-requests repo+state+ai",
            "api",
            7,
            JSON,
            lambda r: q(
                f"{api}/pull-requests/",
                repository=repo(r),
                state="merged",
                ai_assisted="true",
                since=days(60),
                page_size=500,
            ),
        ),
        Endpoint(
            "api pull-requests csv",
            "api",
            5,
            CSV,
            lambda r: q(f"{api}/pull-requests/", team=leaf(r), since=days(90), format="csv"),
        ),
        Endpoint(
            "api metrics team week",
            "api",
            9,
            JSON,
            lambda r: q(f"{api}/metrics/", team=group(r), period="week", since=days(180)),
        ),
        Endpoint(
            "api metrics org month",
            "api",
            4,
            JSON,
            lambda r: q(
                f"{api}/metrics/",
                scope="organization",
                period="month",
                metric=r.choice(["cycle_time_p50", "merged_prs", "revert_rate"]),
            ),
        ),
        Endpoint(
            "api metrics csv",
            "api",
            4,
            CSV,
            lambda r: q(f"{api}/metrics/", team=leaf(r), period="month", format="csv"),
        ),
        Endpoint("api teams", "api", 3, JSON, lambda r: q(f"{api}/teams/", page_size=1000)),
        Endpoint("api people team", "api", 3, JSON, lambda r: q(f"{api}/people/", team=group(r))),
        Endpoint("api repositories", "api", 2, JSON, lambda r: f"{api}/repositories/"),
        Endpoint(
            "api reviews team+since",
            "api",
            3,
            JSON,
            lambda r: q(f"{api}/reviews/", team=leaf(r), since=days(90)),
        ),
        Endpoint("api ai-impact", "api", 3, JSON, lambda r: f"{api}/ai-impact/"),
        Endpoint("page overview", "page", 9, HTML, lambda r: r.choice(["/", "/", "/?period=week"])),
        Endpoint(
            "page team dashboard",
            "page",
            12,
            HTML,
            lambda r: f"/teams/{r.choice([leaf(r), leaf(r), group(r)])}/",
        ),
        Endpoint(
            "page pr explorer",
            "page",
            12,
            HTML,
            lambda r: q(
                "/prs/",
                **r.choice(
                    [
                        {},
                        {"team": group(r), "state": "merged"},
                        {"team": leaf(r), "ai": "yes", "merged_from": days(90)},
                        {"repository": repo(r), "sort": "-size", "page": 2},
                        {"state": "open"},
                    ]
                ),
            ),
        ),
        Endpoint("page ai impact", "page", 6, HTML, lambda r: "/ai-impact/"),
    ]
    if t.survey_round is not None:
        endpoints.append(
            Endpoint(
                "api survey-results",
                "api",
                2,
                JSON,
                lambda r: q(f"{api}/survey-results/", round=t.survey_round),
            )
        )
    return endpoints


# --- the load generator -----------------------------------------------------------------------------------


@dataclass
class Result:
    """Latencies in seconds per endpoint name (measured requests only), errors anywhere in the run."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    content_types: dict[str, set[str]] = field(default_factory=dict)
    warmup_requests: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    reconnects: int = 0  # a kept-alive connection the server had closed, retried at once on a new one

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def merge(self, other: Result) -> None:
        for name, values in other.latencies.items():
            self.latencies.setdefault(name, []).extend(values)
        for name, types in other.content_types.items():
            self.content_types.setdefault(name, set()).update(types)
        self.warmup_requests += other.warmup_requests
        self.errors += other.errors
        self.reconnects += other.reconnects
        self.samples.extend(other.samples[: max(0, SAMPLES - len(self.samples))])


class Client:
    """One simulated client: one keep-alive connection, requests one after another (a closed loop)."""

    def __init__(self, port: int, headers: dict[str, dict[str, str]], timeout: float) -> None:
        self.port, self.headers, self.timeout = port, headers, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.result = Result()

    def _send(self, path: str, kind: str) -> tuple[int, str, bytes]:
        fresh = self.conn is None
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", path, headers=self.headers[kind])
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.close()
            if fresh:
                raise
            self.result.reconnects += 1  # the server closed an idle kept-alive connection: as browsers do
            return self._send(path, kind)
        body = response.read()
        if response.will_close:
            self.close()
        return response.status, response.getheader("Content-Type", ""), body

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def fetch(self, endpoint: Endpoint, name: str, path: str, measured: bool) -> bytes | None:
        began = time.perf_counter()
        try:
            status, ctype, body = self._send(path, endpoint.kind)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self._error(f"{name}: GET {path}: {type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - began
        if not 200 <= status < 300:
            text = body[:200].decode("utf-8", "replace").replace("\n", " ")
            self._error(f"{name}: GET {path}: HTTP {status}: {text}")
            return None
        if not ctype.startswith(endpoint.content_type):
            self._error(f"{name}: GET {path}: content type {ctype!r}, expected {endpoint.content_type}")
            return None
        if measured:
            self.result.latencies.setdefault(name, []).append(elapsed)
            self.result.content_types.setdefault(name, set()).add(ctype.split(";")[0])
        else:
            self.result.warmup_requests += 1
        return body

    def _error(self, sample: str) -> None:
        self.result.errors += 1
        if len(self.result.samples) < SAMPLES:
            self.result.samples.append(sample)

    def run(
        self,
        endpoints: list[Endpoint],
        rng: random.Random,
        measure_from: float,
        until: float,
        think: float,
        first: Endpoint,
    ) -> None:
        """``first``: the first request (clients start on different endpoints, so that every endpoint is
        hit even in a short run); then drawn by weight."""
        weights = [e.weight for e in endpoints]
        endpoint = first
        while (now := time.monotonic()) < until:
            measured = now >= measure_from
            body = self.fetch(endpoint, endpoint.name, endpoint.path(rng), measured)
            if body is not None and endpoint.follow_next and time.monotonic() < until:
                link = json.loads(body).get("next")
                if link:
                    parts = urllib.parse.urlsplit(link)
                    self.fetch(endpoint, f"{endpoint.name} next", f"{parts.path}?{parts.query}", measured)
            if think:  # never past the end: the run's duration is the clients' time, not their pauses
                time.sleep(min(rng.expovariate(1 / think), max(0.0, until - time.monotonic())))
            endpoint = rng.choices(endpoints, weights)[0]
        self.close()


def _headers(token: str, cookie: str, keepalive: bool = True) -> dict[str, dict[str, str]]:
    extra = {} if keepalive else {"Connection": "close"}
    return {
        "api": {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity", **extra},
        "page": {"Cookie": cookie, "Accept": "text/html", "Accept-Encoding": "identity", **extra},
    }


def prime(port: int, token: str, cookie: str, endpoints: list[Endpoint], *, timeout: float = 120.0) -> Result:
    """Each endpoint once, one after another, before the clients start: what the first visitor after a
    deployment or a recompute waits for (cold caches), reported apart from the steady state."""
    client = Client(port, _headers(token, cookie), timeout)
    rng = random.Random(1)
    for endpoint in endpoints:
        client.fetch(endpoint, endpoint.name, endpoint.path(rng), measured=True)
    client.close()
    return client.result


def drive(
    port: int,
    token: str,
    cookie: str,
    endpoints: list[Endpoint],
    *,
    clients: int,
    seconds: float,
    warmup: float = 5.0,
    think: float = 0.0,
    seed: int = 7,
    timeout: float = 60.0,
    keepalive: bool = True,
) -> Result:
    """Run ``clients`` threads for ``warmup`` + ``seconds``; requests started in the warm-up are not timed.
    ``keepalive=False``: a new connection per request (as from a proxy without upstream keep-alive)."""
    headers = _headers(token, cookie, keepalive)
    started = time.monotonic()
    measure_from, until = started + warmup, started + warmup + seconds
    pool = [Client(port, headers, timeout) for _ in range(clients)]
    threads = [
        threading.Thread(
            target=c.run,
            args=(
                endpoints,
                random.Random(seed + i),
                measure_from,
                until,
                think,
                endpoints[i % len(endpoints)],
            ),
            name=f"load-client-{i}",
            daemon=True,
        )
        for i, c in enumerate(pool)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = Result(seconds=time.monotonic() - measure_from)
    for c in pool:
        result.merge(c.result)
    return result


def quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def overall_p99(result: Result) -> float:
    everything = [v for values in result.latencies.values() for v in values]
    return quantile(everything, 0.99) if everything else math.inf


def report(result: Result) -> str:
    everything = [v for values in result.latencies.values() for v in values]
    lines = [
        f"requests {result.requests:,} in {result.seconds:.1f} s = "
        f"{result.requests / result.seconds:.1f} req/s "
        f"(plus {result.warmup_requests:,} in the warm-up); errors {result.errors}; "
        f"kept-alive connections closed by the server and retried: {result.reconnects}",
        f"  {'latency ms':<38}{'n':>7}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}",
    ]
    rows = [("all", everything), *sorted(result.latencies.items())]
    for name, values in rows:
        if values:
            cells = "".join(f"{quantile(values, q) * 1000:8.0f}" for q in (0.5, 0.9, 0.99, 1.0))
            lines.append(f"  {name:<38}{len(values):>7}{cells}")
    lines += [f"  error: {sample}" for sample in result.samples]
    return "\n".join(lines)


# --- the server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    """gunicorn as docker/entrypoint.sh starts it, on a free port; stopped with SIGTERM (graceful)."""
    server = Server(free_port(), log)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "metrics.wsgi:application",
        "--bind",
        f"127.0.0.1:{server.port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--access-logfile",
        str(log.with_suffix(".access.log")),
        "--error-logfile",
        str(log),
    ]
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


# --- the full run --------------------------------------------------------------------------------


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


def machine() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}, {os.cpu_count()} CPUs"


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds all CPUs spent busy (not idle, not waiting for I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Where the machine's CPU went during the run: gunicorn (master and workers), the PostgreSQL
    backends serving it, this load generator, and everything else (other work on a shared machine).
    Sampled twice a second, so a database connection closed during the run still counts."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid, self.database = server_pid, database
        self.baseline: dict[tuple[str, int], float] = {}
        self.seen: dict[tuple[str, int], float] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="cpu-meter", daemon=True)

    def _sample(self) -> dict[tuple[str, int], float]:
        import psycopg

        children = Path(f"/proc/{self.server_pid}/task/{self.server_pid}/children")
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
        with psycopg.connect(self.database, autocommit=True) as conn:
            backends = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ]
        found = {("gunicorn", p): _proc_cpu(p) for p in [self.server_pid, *workers]}
        found |= {("postgres", p): _proc_cpu(p) for p in backends}
        return {key: value for key, value in found.items() if value}

    def _loop(self) -> None:
        while not self.stopped.wait(0.5):
            self.seen.update(self._sample())

    def start(self) -> None:
        self.baseline = self._sample()
        self.started = (time.monotonic(), _machine_busy(), sum(os.times()[:2]))
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.seen.update(self._sample())
        self.ended = (time.monotonic(), _machine_busy(), sum(os.times()[:2]))

    def summary(self, requests: int) -> str:
        used = {"gunicorn": 0.0, "postgres": 0.0}
        for (kind, pid), value in self.seen.items():
            used[kind] += value - self.baseline.get((kind, pid), 0.0)
        wall, busy, own = (end - start for start, end in zip(self.started, self.ended, strict=True))
        others = busy - used["gunicorn"] - used["postgres"] - own
        per = 1000 / max(requests, 1)
        return (
            f"CPU seconds of {wall * (os.cpu_count() or 1):.0f} available: gunicorn {used['gunicorn']:.0f} "
            f"({used['gunicorn'] * per:.1f} ms a request), PostgreSQL {used['postgres']:.0f} "
            f"({used['postgres'] * per:.1f} ms a request), load generator {own:.0f}, "
            f"everything else on the machine {max(others, 0):.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before timing starts")
    parser.add_argument("--think", type=float, default=0, help="mean pause between a client's requests (s)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--cache-url", default=DEFAULT_CACHE, help="Redis database of the Django cache")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--no-keepalive", action="store_true", help="a new connection per request (a proxy in front)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metrics.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    prepare_database(args.database_url, args.rows, args.rebuild)
    username, password, token = credentials()
    endpoints = mix(targets())
    flush_cache(args.cache_url)
    var = ROOT / "var" / "load"
    var.mkdir(parents=True, exist_ok=True)
    env = server_env(args.database_url, args.cache_url, var)
    with gunicorn(env, var / "gunicorn.log", args.workers, args.threads) as server:
        cookie = login(server.port, username, password)
        print(
            f"{args.rows:,} PRs; gunicorn {args.workers} workers x {args.threads} threads on "
            f"127.0.0.1:{server.port}; {args.clients} clients for {args.seconds:.0f} s after a "
            f"{args.warmup:.0f} s warm-up, think time {args.think:g} s, "
            f"{'a connection per request' if args.no_keepalive else 'keep-alive'}; "
            f"{len(endpoints)} endpoints",
            flush=True,
        )
        first = prime(server.port, token, cookie, endpoints)
        print(
            "first request of each endpoint, one at a time (cold caches), ms: "
            + ", ".join(f"{name} {values[0] * 1000:.0f}" for name, values in sorted(first.latencies.items())),
            flush=True,
        )
        print(f"before: {machine()}", flush=True)
        assert server.process is not None
        meter = CpuMeter(server.process.pid, args.database_url)
        meter.start()
        result = drive(
            server.port,
            token,
            cookie,
            endpoints,
            clients=args.clients,
            seconds=args.seconds,
            warmup=args.warmup,
            think=args.think,
            keepalive=not args.no_keepalive,
        )
        meter.stop()
        print(f"after:  {machine()}")
        print(meter.summary(result.requests + result.warmup_requests))
    result.errors += first.errors
    result.samples[:0] = first.samples
    print(report(result))
    p99 = overall_p99(result)
    ok = result.errors == 0 and p99 < P99_TARGET_S and server.exit_code == 0
    print(f"gunicorn stopped with exit code {server.exit_code}")
    print(
        f"target 0 errors and p99 < {P99_TARGET_S:g} s: {'met' if ok else 'NOT met'} "
        f"({result.errors} errors, p99 {p99 * 1000:.0f} ms)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
