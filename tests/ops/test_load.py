"""The CI variant of bench/load.py: the same driver and mix, 50 clients for 10 s against real gunicorn
(3 workers x 4 threads, as docker/entrypoint.sh) serving the test PostgreSQL database with the small demo
organization.  Asserts no errors, and that every endpoint of the mix was hit (the clients start on different
endpoints) and answered its content type.  Latencies are printed, not asserted (the CI machine is shared).

The server reads committed data, so the test is transactional (pytest-django flushes the tables after it).
It needs PostgreSQL (the load driver's database of record; SQLite's test database is in memory, out of
reach of another process): it fails in CI without it and skips locally on SQLite.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from bench.loadtest import driver, mix
from bench.loadtest import server as servers
from metrics.core.models import Team, TeamMembership
from tests import redis_dbs
from tests.factories import make_response, make_round

pytestmark = pytest.mark.django_db(transaction=True)

CACHE = redis_dbs.LOAD_CACHE


def _database_url() -> str:
    params = connection.settings_dict
    auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    return f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


def _survey_round() -> None:
    """The demo has no survey; the survey results endpoint is in the mix: a round every engineer answered."""
    survey_round = make_round(teams=list(Team.objects.filter(parent__isnull=True)))
    current = TeamMembership.objects.filter(end__isnull=True).select_related("person", "team")
    people = {m.person_id: m for m in current.order_by("person_id", "-start")}
    for i, m in enumerate(people.values()):
        make_response(
            survey_round=survey_round,
            team=m.team,
            person=m.person,
            overall=1 + i % 5,
            ease=1 + i * 3 % 5,
            hours=float(i % 6),
            tool="Claude Code",
            frequency="weekly",
        )


def test_fifty_clients_against_gunicorn_without_errors(tmp_path: Path, settings: Any) -> None:
    # gunicorn checks the password with the production hashers, not the suite's fast MD5 (tests/conftest.py).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    if connection.vendor != "postgresql":
        # gunicorn must serve the test database from other processes, and the SQLite test database lives
        # in this process' memory.  CI runs it in its PostgreSQL pass (.ci/run step 2, which fails, never
        # skips, when PostgreSQL cannot be reached); `make test` on SQLite says so here.
        pytest.skip(
            "needs PostgreSQL (gunicorn serves the test database from other processes): "
            "DATABASE_URL=postgres://... make test, as CI's second pass runs it"
        )
    call_command("load_demo", "--seed", "5", "--small", verbosity=0, stdout=StringIO(), stderr=StringIO())
    _survey_round()
    username, password, token = servers.credentials()
    targets = mix.targets()
    endpoints = mix.mix(targets)
    servers.flush_cache(CACHE)
    env = servers.server_env(_database_url(), CACHE, tmp_path)

    with servers.gunicorn(env, tmp_path / "gunicorn.log", workers=3, threads=4) as server:
        cookie = servers.login(server.port, username, password)
        result = driver.drive(server.port, token, cookie, endpoints, clients=50, seconds=10, warmup=0)
    summary = driver.report(result)
    print(f"\n50 clients, 10 s, {len(endpoints)} endpoints, demo organization (small)\n{summary}")

    assert result.errors == 0, result.samples
    assert server.exit_code == 0, server.tail()
    assert result.requests > 50  # more than one request per client: a stalled server would show here
    expected = {e.name: e.content_type for e in endpoints}
    expected |= {f"{e.name} next": e.content_type for e in endpoints if e.follow_next}
    assert set(result.latencies) == set(expected)
    for name, content_type in expected.items():
        assert len(result.latencies[name]) > 0, name
        assert result.content_types[name] == {content_type}, name
