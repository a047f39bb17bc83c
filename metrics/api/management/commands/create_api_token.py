"""``create_api_token NAME --role viewer|executive|manager|admin [--team SLUG ...]``: prints it once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.api.models import ApiToken
from metrics.api.tokens import TokenError, api_token_create


class Command(BaseCommand):
    help = "Create a read-only API token for a BI tool and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who or what uses the token, e.g. 'Power BI finance'")
        parser.add_argument(
            "--role",
            choices=ApiToken.Role.values,
            default=ApiToken.Role.VIEWER,
            help="admin/manager see names, executive/viewer pseudonyms (default viewer)",
        )
        parser.add_argument(
            "--team",
            action="append",
            default=[],
            metavar="SLUG",
            help="limit the token to this team and its sub-teams (repeatable; default: all)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            token, raw = api_token_create(
                name=options["name"], role=options["role"], team_slugs=options["team"]
            )
        except TokenError as exc:
            raise CommandError(str(exc)) from exc
        teams = ", ".join(options["team"]) or "all"
        self.stdout.write(
            f"Created API token {token.name!r} ({token.prefix}…, role {token.role}, teams: {teams}). "
            "Copy it now; it is not stored and will not be shown again:"
        )
        self.stdout.write(raw)
