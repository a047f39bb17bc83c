"""Configured data sources: creating them, their encrypted secrets, and the SourceConfig a connector gets.

Secrets (the API token, the webhook secret) are stored encrypted (``metrics.core.crypto``) and only
decrypted in memory when a connector or the webhook view needs them; nothing here logs or returns them
except ``source_secret``/``source_webhook_secret``, whose callers hand them to a connector or an HMAC.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from connectors.api_urls import api_url_check
from connectors.base import ConnectorError, SourceConfig, redact
from connectors.jira import FLAVORS, PROJECT_KEY
from metrics.core import crypto
from metrics.core.models import DataSource

WEBHOOK_SECRET_OPTION = "webhook_secret_encrypted"  # noqa: S105 - an option name, not a secret
HALTED = "halted"  # checkpoint key: a permanent error stops scheduled syncs until the secret changes
TOKEN_KINDS = {
    DataSource.Kind.GITHUB,
    DataSource.Kind.GITLAB,
    DataSource.Kind.COPILOT,
    DataSource.Kind.PAGERDUTY,
    DataSource.Kind.OPSGENIE,
    DataSource.Kind.JIRA,
    DataSource.Kind.CURSOR,
    DataSource.Kind.CLAUDE_CODE,
    DataSource.Kind.OTLP,
}
REPO_RE = re.compile(r"^[\w.-]+/[\w.-]+$")


class SourceConfigError(ValueError):
    """A data source cannot be created or used as configured; the message names the problem."""


def _names(value: Any) -> list[str]:
    """A list option from a form (``a, b``) or the command line (repeated flags): trimmed, no empties."""
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in value or [] if str(v).strip()]


def _github_options(options: dict[str, Any]) -> dict[str, Any]:
    repos = options.get("repos") or []
    if isinstance(repos, str):
        repos = [repos]
    if bool(options.get("org")) == bool(repos):
        raise SourceConfigError("a github source needs exactly one of --org ORG or --repo OWNER/REPO")
    for repo in repos:
        if not REPO_RE.match(repo):
            raise SourceConfigError(f"--repo {repo!r} is not OWNER/REPO")
    for key in ("app_id", "installation_id"):
        if options.get(key) and not str(options[key]).strip().isdigit():
            raise SourceConfigError(
                f"{key} {options[key]!r} is not a number (the GitHub App's settings show it)"
            )
    if options.get("installation_id") and not options.get("app_id"):
        raise SourceConfigError("installation_id needs app_id (a GitHub App)")
    options = {**options, "repos": list(repos)} if repos else options
    if "production_workflows" in options:
        options["production_workflows"] = _names(options["production_workflows"])
    return options


def _pagerduty_options(options: dict[str, Any]) -> dict[str, Any]:
    if "service_ids" in options:
        options = {**options, "service_ids": _names(options["service_ids"])}
    return options


def _opsgenie_options(options: dict[str, Any]) -> dict[str, Any]:
    read = str(options.get("read") or "incidents")
    if read not in ("incidents", "alerts"):
        raise SourceConfigError(f"an opsgenie source reads incidents or alerts, not {read!r}")
    if "alert_priorities" in options:
        priorities = _names(options["alert_priorities"])
        if any(p not in ("P1", "P2", "P3", "P4", "P5") for p in priorities):
            raise SourceConfigError("opsgenie alert priorities are P1 to P5")
        options = {**options, "alert_priorities": priorities}
    return options


def _jira_options(options: dict[str, Any]) -> dict[str, Any]:
    flavor = str(options.get("flavor") or "cloud")
    if flavor not in FLAVORS:
        raise SourceConfigError(f"a jira source's flavor must be cloud or datacenter, not {flavor!r}")
    if not options.get("api_url"):
        raise SourceConfigError("a jira source needs --api-url (https://SITE.atlassian.net or your server)")
    if flavor == "cloud" and not options.get("email"):
        raise SourceConfigError("a jira cloud source needs --email (the account of the API token)")
    projects = _names(options.get("projects"))
    if not projects:
        raise SourceConfigError("a jira source needs at least one --jira-project KEY")
    for key in projects:
        if not PROJECT_KEY.match(key):
            raise SourceConfigError(f"jira project {key[:40]!r} is not a project key (A-Z, 0-9, _)")
    clean = {**options, "flavor": flavor, "projects": projects}
    clean["issue_types"] = _names(options.get("issue_types")) or ["Incident"]
    for name in ("issue_types", "priorities"):
        for value in _names(clean.get(name)):
            if any(c in value for c in "\r\n\t"):
                raise SourceConfigError(f"jira {name.replace('_', ' ')} must not contain line breaks")
    if "priorities" in clean:
        clean["priorities"] = _names(clean["priorities"])
    return clean


def _gitlab_options(options: dict[str, Any]) -> dict[str, Any]:
    if bool(options.get("group")) == bool(options.get("project")):
        raise SourceConfigError("a gitlab source needs exactly one of --group GROUP or --project PATH")
    return options


def _git_options(options: dict[str, Any]) -> dict[str, Any]:
    path = options.get("path")
    if not path:
        raise SourceConfigError("a git source needs --path PATH")
    if not Path(path).exists():
        raise SourceConfigError(f"--path {path!r} does not exist")
    return {**options, "path": str(Path(path).resolve())}


def _copilot_options(options: dict[str, Any]) -> dict[str, Any]:
    if bool(options.get("org")) == bool(options.get("enterprise")):
        raise SourceConfigError("a copilot source needs --org ORG or --enterprise ENTERPRISE (one of them)")
    return options


def _since_options(options: dict[str, Any]) -> dict[str, Any]:
    """Cursor and Claude Code: an optional first day (``since``, YYYY-MM-DD) and API URL."""
    since = options.get("since")
    if since:
        try:
            date.fromisoformat(str(since))
        except ValueError:
            raise SourceConfigError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    return options


def _otlp_options(options: dict[str, Any]) -> dict[str, Any]:
    """The OTLP receiver is pushed to: nothing to read, the token is what exporters must send."""
    return options


VALIDATORS = {
    DataSource.Kind.GITHUB: _github_options,
    DataSource.Kind.GITLAB: _gitlab_options,
    DataSource.Kind.GIT: _git_options,
    DataSource.Kind.COPILOT: _copilot_options,
    DataSource.Kind.PAGERDUTY: _pagerduty_options,
    DataSource.Kind.OPSGENIE: _opsgenie_options,
    DataSource.Kind.JIRA: _jira_options,
    DataSource.Kind.CURSOR: _since_options,
    DataSource.Kind.CLAUDE_CODE: _since_options,
    DataSource.Kind.OTLP: _otlp_options,
}


def source_create(
    *,
    kind: str,
    name: str,
    options: dict[str, Any],
    secret: str = "",
    webhook_secret: str = "",
    sync_interval_minutes: int = 60,
) -> DataSource:
    """Create a source; its secrets are stored encrypted.  Bad input raises SourceConfigError."""
    if kind not in VALIDATORS:
        expected = ", ".join(sorted(VALIDATORS))
        raise SourceConfigError(f"unknown source kind {kind!r}; expected one of {expected}")
    if not name or slugify(name) != name:
        raise SourceConfigError(f"source name {name!r} must be a slug (letters, digits, - and _)")
    if kind in TOKEN_KINDS and not secret:
        raise SourceConfigError(f"a {kind} source needs a token (a GitHub App: its private key)")
    if sync_interval_minutes < 1:
        raise SourceConfigError("the sync interval must be at least 1 minute")
    clean = VALIDATORS[kind]({k: v for k, v in options.items() if v not in (None, "", [])})
    if kind == DataSource.Kind.GITHUB and clean.get("app_id") and "PRIVATE KEY-----" not in secret:
        raise SourceConfigError(
            "a GitHub App source needs the App's private key (the PEM file GitHub generated) as its secret"
        )
    if clean.get("api_url"):
        try:
            api_url_check(str(clean["api_url"]))
        except ConnectorError as exc:
            raise SourceConfigError(str(exc)) from None
    if webhook_secret:
        clean[WEBHOOK_SECRET_OPTION] = crypto.encrypt(webhook_secret)
    try:
        with transaction.atomic():
            return DataSource.objects.create(
                name=name,
                kind=kind,
                options=clean,
                secret_encrypted=crypto.encrypt(secret),
                sync_interval_minutes=sync_interval_minutes,
            )
    except IntegrityError:
        raise SourceConfigError(f"a source named {name!r} already exists") from None


def source_secret_set(*, source: DataSource, secret: str) -> None:
    """Store a new token; a source halted by a permanent error (revoked token) may sync again."""
    checkpoint = {k: v for k, v in source.checkpoint.items() if k != HALTED}
    source.secret_encrypted = crypto.encrypt(secret)
    source.checkpoint = checkpoint
    source.last_error = ""
    source.save(update_fields=["secret_encrypted", "checkpoint", "last_error"])


def source_secret(source: DataSource) -> str:
    return crypto.decrypt(source.secret_encrypted, what=f"token of source {source.name!r}")


def source_webhook_secret(source: DataSource) -> str:
    return crypto.decrypt(
        str(source.options.get(WEBHOOK_SECRET_OPTION, "")), what=f"webhook secret of source {source.name!r}"
    )


def source_redact(source: DataSource, text: str) -> str:
    """``text`` (a remote error, a problem list) without the source's token or webhook secret, nor
    anything else ``connectors.base.redact`` recognizes: what may be stored on a run or shown."""
    secrets = []
    for read in (source_secret, source_webhook_secret):
        try:
            secrets.append(read(source))
        except crypto.SecretDecryptionError:
            continue  # undecryptable: it cannot have been sent either
    return redact(text, secrets)


def public_options(source: DataSource) -> dict[str, Any]:
    """Options without anything secret (also without their ciphertext)."""
    return {k: v for k, v in source.options.items() if not k.endswith("_encrypted")}


def source_target(source: DataSource) -> str:
    """What the source reads, in one short phrase for lists and run names."""
    if source.kind == DataSource.Kind.OTLP:
        return f"pushed to /otlp/{source.name}/v1/metrics and /v1/logs"
    options = source.options
    for key in ("org", "enterprise", "group", "project", "path"):
        if options.get(key):
            return f"{key} {options[key]}"
    if options.get("repos"):
        return "repo " + ", ".join(options["repos"])
    if options.get("projects"):
        return "projects " + ", ".join(options["projects"])
    if options.get("service_ids"):
        return "services " + ", ".join(options["service_ids"])
    if source.kind in (DataSource.Kind.PAGERDUTY, DataSource.Kind.OPSGENIE):
        return "all incidents the key can see"
    return ""


def source_config(*, source: DataSource, repository: str = "") -> SourceConfig:
    """What the connector of ``source`` needs: options, the decrypted secret, and the checkpoint to resume.

    ``repository`` restricts the run to one repository/project (webhook-triggered updates).
    """
    options = public_options(source)
    options["checkpoint"] = copy.deepcopy({k: v for k, v in source.checkpoint.items() if k != HALTED})
    if repository:
        options["only_repositories"] = [repository]
    location = ""
    if source.kind == DataSource.Kind.GIT:
        location = str(options.get("path", ""))
    return SourceConfig(
        kind=source.kind, name=source.name, location=location, options=options, secret=source_secret(source)
    )
