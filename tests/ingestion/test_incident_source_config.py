"""Configuring the deployment and incident sources: ``manage.py add_source`` and the settings page store
their options (checked) and their key encrypted; bad settings are refused with a message naming them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import Client

from metrics.core import crypto
from metrics.core.models import DataSource
from metrics.ingestion.sync_sources import SourceConfigError, source_config, source_create

pytestmark = pytest.mark.django_db
KEY = Fernet.generate_key().decode()
SECRET = "ATATT3xFfGF0-never-shown-7781"


@pytest.fixture(autouse=True)
def encryption_key(settings: Any) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = KEY


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_add_source_jira_stores_checked_options_and_the_token_encrypted(monkeypatch: Any) -> None:
    monkeypatch.setenv("JIRA_TOKEN", SECRET)
    out = run(
        "add_source", "jira", "acme-jira", "--api-url", "https://acme.atlassian.net",
        "--email", "ops@acme.test", "--jira-project", "OPS", "--jira-project", "PLAT",
        "--issue-type", "Incident", "--issue-type", 'Sev "1"', "--priority", "Highest",
        "--token-env", "JIRA_TOKEN",
    )  # fmt: skip
    source = DataSource.objects.get(name="acme-jira")
    assert out == "added jira source acme-jira (projects OPS, PLAT), token stored encrypted\n"
    assert source.kind == "jira" and source.get_kind_display() == "Jira"
    assert source.options == {
        "api_url": "https://acme.atlassian.net",
        "flavor": "cloud",
        "email": "ops@acme.test",
        "projects": ["OPS", "PLAT"],
        "issue_types": ["Incident", 'Sev "1"'],
        "priorities": ["Highest"],
    }
    assert SECRET not in source.secret_encrypted and crypto.decrypt(source.secret_encrypted) == SECRET
    assert source_config(source=source).secret == SECRET


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api-url", "https://a.atlassian.net", "--jira-project", "OPS"], "needs --email"),
        (["--api-url", "https://a.atlassian.net", "--email", "e@a.test"], "at least one --jira-project"),
        (
            ["--api-url", "https://a.atlassian.net", "--email", "e@a.test", "--jira-project", "ops) OR x"],
            "not a project key",
        ),
        (["--jira-project", "OPS", "--flavor", "datacenter"], "needs --api-url"),
    ],
)
def test_add_source_jira_refuses_bad_settings_and_stores_nothing(
    monkeypatch: Any, args: list[str], message: str
) -> None:
    monkeypatch.setenv("JIRA_TOKEN", SECRET)
    with pytest.raises(CommandError, match=message):
        run("add_source", "jira", "bad", *args, "--token-env", "JIRA_TOKEN")
    assert not DataSource.objects.exists()


def test_add_source_pagerduty_opsgenie_and_github_delivery_options(monkeypatch: Any) -> None:
    monkeypatch.setenv("KEY", SECRET)
    run(
        "add_source",
        "pagerduty",
        "pd",
        "--service-id",
        "PIJ90N7",
        "--service-id",
        "PX1",
        "--token-env",
        "KEY",
    )
    run(
        "add_source",
        "opsgenie",
        "og",
        "--api-url",
        "https://api.eu.opsgenie.com",
        "--days",
        "30",
        "--token-env",
        "KEY",
    )
    run(
        "add_source", "github", "gh", "--repo", "acme/api", "--workflow", "deploy.yml", "--incident-label",
        "incident", "--token-env", "KEY",
    )  # fmt: skip
    run("add_source", "gitlab", "gl", "--project", "acme/api", "--incidents", "--token-env", "KEY")
    options = {s.name: s.options for s in DataSource.objects.all()}
    assert options["pd"] == {"service_ids": ["PIJ90N7", "PX1"]}
    assert options["og"] == {"api_url": "https://api.eu.opsgenie.com", "days": 30}
    run("add_source", "opsgenie", "og-alerts", "--alerts", "--alert-priority", "P1", "--token-env", "KEY")
    assert DataSource.objects.get(name="og-alerts").options == {"read": "alerts", "alert_priorities": ["P1"]}
    with pytest.raises(CommandError, match="opsgenie alert priorities are P1 to P5"):
        run("add_source", "opsgenie", "og-bad", "--alerts", "--alert-priority", "high", "--token-env", "KEY")
    assert options["gh"] == {
        "repos": ["acme/api"],
        "production_workflows": ["deploy.yml"],
        "incident_label": "incident",
    }
    assert options["gl"] == {"project": "acme/api", "incidents": True}


def test_an_incident_source_needs_a_key() -> None:
    with pytest.raises(SourceConfigError, match="a pagerduty source needs a token"):
        source_create(kind="pagerduty", name="pd", options={}, secret="")


def test_settings_page_adds_a_jira_source_with_its_fields_and_never_echoes_the_token(
    admin_client: Client,
) -> None:
    page = admin_client.get("/settings/sources/").content.decode()
    for field in ('value="jira"', 'name="projects"', 'name="issue_types"', 'name="production_workflows"',
                  'name="incident_label"', 'name="service_ids"', 'value="datacenter"'):  # fmt: skip
        assert field in page
    form = {
        "kind": "jira",
        "name": "jira-dc",
        "api_url": "https://jira.acme.internal",
        "flavor": "datacenter",
        "projects": "OPS, PLAT",
        "issue_types": "",
        "priorities": "Blocker, Critical",
        "token": SECRET,
        "interval": "30",
    }
    assert admin_client.post("/settings/sources/", form).status_code == 302
    source = DataSource.objects.get(name="jira-dc")
    assert source.options == {
        "api_url": "https://jira.acme.internal",
        "flavor": "datacenter",
        "projects": ["OPS", "PLAT"],
        "issue_types": ["Incident"],
        "priorities": ["Blocker", "Critical"],
    }
    listed = admin_client.get("/settings/sources/").content.decode()
    assert "projects OPS, PLAT" in listed and SECRET not in listed
    refused = admin_client.post("/settings/sources/", {**form, "name": "jira-2", "projects": "ops"})
    assert refused.status_code == 400 and "is not a project key" in refused.content.decode()
    assert SECRET not in refused.content.decode()
