"""manage.py add_source KIND NAME ... : configure a GitHub, GitLab, Copilot, local git, PagerDuty, Opsgenie or
Jira source.

The token is read from the environment variable named by ``--token-env`` or prompted for (no echo); it
is never taken as a plain argument, which would leave it in the shell history and the process list.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.ingestion.sync_sources import TOKEN_KINDS, SourceConfigError, source_create, source_target


def _from_env(variable: str, what: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise CommandError(f"environment variable {variable} (named by --{what}-env) is unset or empty")
    return value


class Command(BaseCommand):
    help = (
        "Add a data source: github NAME --org ORG | --repo OWNER/REPO [--api-url URL] [--token-env VAR | "
        "--app-id ID --private-key-file PEM [--installation-id ID]]; "
        "gitlab NAME --group G | --project P [--api-url URL] [--incidents]; copilot NAME --org ORG; "
        "git NAME --path PATH; pagerduty NAME [--service-id ID]; opsgenie NAME [--api-url URL]; "
        "jira NAME --api-url URL --jira-project KEY [--flavor cloud --email E | --flavor datacenter] "
        "[--issue-type T] [--priority P]; "
        "cursor NAME [--since DAY]; claude_code NAME [--since DAY]; otlp NAME (token: what exporters send)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "kind",
            choices=[
                *("github", "gitlab", "copilot", "git", "pagerduty", "opsgenie", "jira"),
                *("cursor", "claude_code", "otlp"),
            ],
        )
        parser.add_argument("name", help="short unique name (a slug), e.g. acme-github")
        parser.add_argument("--org", default="", help="GitHub organization (github, copilot)")
        parser.add_argument("--enterprise", default="", help="GitHub enterprise slug (copilot)")
        parser.add_argument("--repo", action="append", default=[], help="OWNER/REPO (github; repeatable)")
        parser.add_argument("--group", default="", help="GitLab group path (gitlab)")
        parser.add_argument("--project", default="", help="GitLab project path (gitlab)")
        parser.add_argument("--path", default="", help="local git repository (git)")
        parser.add_argument("--api-url", default="", help="API base URL (GitHub Enterprise, self-managed)")
        parser.add_argument("--token-env", default="", help="environment variable holding the token")
        parser.add_argument("--webhook-secret-env", default="", help="environment variable holding it")
        parser.add_argument("--app-id", default="", help="GitHub App id (authenticate as its installation)")
        parser.add_argument(
            "--installation-id", default="", help="GitHub App installation id (default: looked up)"
        )
        parser.add_argument("--private-key-file", type=Path, help="GitHub App private key (PEM file)")
        parser.add_argument("--since", default="", help="first day to read, YYYY-MM-DD (cursor, claude_code)")
        parser.add_argument("--interval", type=int, default=60, help="minutes between scheduled syncs")
        # Deployments and incidents (DORA): see the README's sections on each source.
        parser.add_argument(
            "--workflow",
            action="append",
            default=[],
            help="GitHub Actions workflow whose runs are production "
            "deployments, e.g. deploy.yml (github; repeatable)",
        )
        parser.add_argument(
            "--incident-label", default="", help="issues with this label are incidents (github)"
        )
        parser.add_argument("--incidents", action="store_true", help="read the projects' incidents (gitlab)")
        parser.add_argument(
            "--service-id", action="append", default=[], help="PagerDuty service id (repeatable)"
        )
        parser.add_argument(
            "--alerts",
            action="store_true",
            help="read alerts of --alert-priority (opsgenie without incidents)",
        )
        parser.add_argument("--alert-priority", action="append", default=[], help="P1..P5 (default P1, P2)")
        parser.add_argument("--flavor", choices=["cloud", "datacenter"], default="cloud", help="Jira flavor")
        parser.add_argument("--email", default="", help="Atlassian account of the API token (jira cloud)")
        parser.add_argument(
            "--jira-project", action="append", default=[], help="Jira project key (repeatable)"
        )
        parser.add_argument(
            "--issue-type", action="append", default=[], help="Jira issue type (default Incident)"
        )
        parser.add_argument(
            "--priority", action="append", default=[], help="Jira priority to keep (default all)"
        )
        parser.add_argument(
            "--days", type=int, default=None, help="how far back a first sync reads incidents"
        )

    def _options(self, kind: str, o: dict[str, Any]) -> dict[str, Any]:
        if kind == "github":
            options = {"org": o["org"], "repos": o["repo"], "api_url": o["api_url"]}
            if o["app_id"]:
                options.update({"app_id": o["app_id"], "installation_id": o["installation_id"]})
            elif o["installation_id"]:
                raise CommandError("--installation-id needs --app-id")
            options.update(production_workflows=o["workflow"], incident_label=o["incident_label"])
            return options
        if kind == "gitlab":
            return {
                "group": o["group"],
                "project": o["project"],
                "api_url": o["api_url"],
                "incidents": o["incidents"] or None,
            }
        if kind == "pagerduty":
            return {"api_url": o["api_url"], "service_ids": o["service_id"], "days": o["days"]}
        if kind == "opsgenie":
            read = "alerts" if o["alerts"] else None
            return {
                "api_url": o["api_url"],
                "days": o["days"],
                "read": read,
                "alert_priorities": o["alert_priority"],
            }
        if kind == "jira":
            return {
                "api_url": o["api_url"],
                "flavor": o["flavor"],
                "email": o["email"],
                "projects": o["jira_project"],
                "issue_types": o["issue_type"],
                "priorities": o["priority"],
                "days": o["days"],
            }
        if kind == "copilot":
            return {"org": o["org"], "enterprise": o["enterprise"], "api_url": o["api_url"]}
        if kind in ("cursor", "claude_code"):
            return {"since": o["since"], "api_url": o["api_url"]}
        if kind == "otlp":
            return {}
        return {"path": o["path"]}

    def _secret(self, kind: str, name: str, o: dict[str, Any]) -> str:
        if kind not in TOKEN_KINDS:
            return ""
        if o["app_id"]:
            if not o["private_key_file"]:
                raise CommandError("--app-id needs --private-key-file (the App's private key, PEM)")
            try:
                return Path(o["private_key_file"]).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CommandError(f"cannot read --private-key-file: {exc.strerror}") from None
        if o["token_env"]:
            return _from_env(o["token_env"], "token")
        if not sys.stdin.isatty():
            raise CommandError("no token given: pass --token-env VAR (a token is never taken as an argument)")
        token = getpass.getpass(f"{kind} token for {name} (not echoed): ").strip()
        if not token:
            raise CommandError("no token entered")
        return token

    def handle(self, *args: Any, **o: Any) -> None:
        kind, name = o["kind"], o["name"]
        secret = self._secret(kind, name, o)
        webhook_env = o["webhook_secret_env"]
        webhook_secret = _from_env(webhook_env, "webhook-secret") if webhook_env else ""
        try:
            source = source_create(
                kind=kind,
                name=name,
                options=self._options(kind, o),
                secret=secret,
                webhook_secret=webhook_secret,
                sync_interval_minutes=o["interval"],
            )
        except SourceConfigError as exc:
            raise CommandError(str(exc)) from None
        stored = ", token stored encrypted" if secret else ""
        webhook = ", webhook secret stored encrypted" if webhook_secret else ""
        self.stdout.write(f"added {kind} source {source.name} ({source_target(source)}){stored}{webhook}")
