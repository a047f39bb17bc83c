"""Remote error bodies that echo the token (issue 15, finding 7): the real GitLab and GitHub fakes answer
with the token in their error text; it must reach no stored error, exception, CLI output, settings page
or API answer.  And /api/v1/sync-runs/ is scoped: a team-limited token sees only runs about one
repository its teams own."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client

from connectors.base import ConnectorError
from metrics.api.tokens import api_token_create
from metrics.core.models import DataSource, Repository, Team
from metrics.ingestion.models import SyncRun
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import source_create
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab, acme, fast
from tests.fakes.server import FakeApiServer

pytestmark = pytest.mark.django_db
GITLAB_TOKEN = "glpat-Xy7qLm2Np9Rt4Vw8Zb1c"
GITHUB_TOKEN = "ghp_Q9w8E7r6T5y4U3i2O1p0AsDfGhJkLzXcVbNm"


@pytest.fixture(autouse=True)
def encryption_key(settings: Any) -> Iterator[None]:
    settings.SEXTANT_ENCRYPTION_KEYS = Fernet.generate_key().decode()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeApiServer() as server:
        fake = acme(fast(server))
        fake.token = GITLAB_TOKEN
        echo = {"message": f"400 Bad request: token {GITLAB_TOKEN} (PRIVATE-TOKEN: {GITLAB_TOKEN}) refused"}
        server.fault(
            "GET",
            r"/api/v4/(groups/acme|user)",
            status=400,
            body=echo,
            times=10,
            headers={"Content-Type": "application/json"},
        )
        yield fake


def body(response: Any) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode()


def seen_by_admin(client: Client) -> str:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-Long-enough-1")
    client.force_login(admin)
    pages = [
        body(client.get(url))
        for url in ("/settings/sources/", "/api/v1/sync-runs/", "/api/v1/sync-runs/?format=csv")
    ]
    return "\n".join(pages)


def test_a_gitlab_error_body_echoing_the_token_is_redacted_everywhere(
    gitlab: FakeGitLab, client: Client
) -> None:
    source = source_create(
        kind="gitlab", name="gl", options={"group": "acme", "api_url": gitlab.url}, secret=GITLAB_TOKEN
    )
    with pytest.raises(ConnectorError) as caught:
        source_sync(source=source)
    run = SyncRun.objects.get(data_source=source)
    source.refresh_from_db()
    assert "400 Bad request" in run.error and "[redacted]" in run.error
    for text in (
        str(caught.value),
        run.error,
        source.last_error,
        str(source.checkpoint),
        seen_by_admin(client),
    ):
        assert GITLAB_TOKEN not in text
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as command:
        call_command("sync", "gl", stdout=out, stderr=err)
    assert GITLAB_TOKEN not in out.getvalue() + err.getvalue() + str(command.value)
    tested = client.post(f"/settings/sources/{source.pk}/test/", follow=True).content.decode()
    assert "the connection failed" in tested and GITLAB_TOKEN not in tested


def test_a_github_error_body_echoing_the_token_is_redacted(client: Client) -> None:
    with FakeGitHub(tokens=(GITHUB_TOKEN,)) as fake:
        fake.server.fault(
            "POST",
            r"/graphql",
            status=200,
            times=10,
            headers={"Content-Type": "application/json"},
            body={
                "errors": [
                    {"type": "INTERNAL", "message": f"Authorization: token {GITHUB_TOKEN}; {GITHUB_TOKEN}"}
                ]
            },
        )
        source = source_create(
            kind="github", name="gh", options={"org": "acme", "api_url": fake.url}, secret=GITHUB_TOKEN
        )
        with pytest.raises(ConnectorError) as caught:
            source_sync(source=source)
    run = SyncRun.objects.get(data_source=source)
    assert "[redacted]" in run.error
    assert GITHUB_TOKEN not in str(caught.value) + run.error + seen_by_admin(client)


def test_redact_knows_token_shapes_and_headers_without_being_told_the_secret() -> None:
    from connectors.base import redact

    text = redact(
        f"Authorization: Bearer abcdefgh12345678 then {GITHUB_TOKEN} and {GITLAB_TOKEN}, "
        "private_token=s3cr3tvalue9 ok"
    )
    assert "abcdefgh12345678" not in text and GITHUB_TOKEN not in text and GITLAB_TOKEN not in text
    assert "s3cr3tvalue9" not in text and text.endswith(" ok")
    assert redact("GitHub rejected the token (401 Bad credentials)") == (
        "GitHub rejected the token (401 Bad credentials)"
    )
    assert "hunter2-long" not in redact("echo hunter2-long", secrets=["hunter2-long"])


def test_sync_runs_are_scoped_to_the_tokens_teams(db: None) -> None:
    mine = Team.objects.create(name="Mine", slug="mine")
    other = Team.objects.create(name="Other", slug="other")
    Repository.objects.create(full_name="acme/mine", host="github", team=mine)
    Repository.objects.create(full_name="acme/theirs", host="github", team=other)
    source = DataSource.objects.create(name="gh", kind="github", options={"org": "acme"})
    for label in ("gh", "gh:acme/mine", "gh:acme/theirs"):
        SyncRun.objects.create(kind="github", source=label, data_source=source, status="failed")
    SyncRun.objects.create(kind="git", source="/srv/git/mine.git", status="succeeded")
    _token, raw = api_token_create(name="viewer", role="viewer", team_slugs=("mine",))
    scoped = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/sync-runs/").json()
    assert [row["source"] for row in scoped["results"]] == ["gh:acme/mine"]
    _token, raw = api_token_create(name="all", role="viewer", team_slugs=())
    every: Any = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/sync-runs/?format=csv")
    every = body(every)
    assert every.count("\n") == 5  # header + all four runs
