"""``manage.py delivery_webhook_secret``: set the secret of ``/webhooks/deployments`` and
``/webhooks/incidents`` (stored encrypted).  Without ``--from-env`` a random secret is made and shown once."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.ingestion.delivery_webhooks import webhook_secret_set


class Command(BaseCommand):
    help = "Set the HMAC secret of the deployment and incident webhooks (a random one unless --from-env VAR)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from-env", default="", help="read the secret from this environment variable")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["from_env"]
        given = os.environ.get(name, "") if name else ""
        if name and len(given) < 16:
            raise CommandError(f"${name} must hold a secret of at least 16 characters")
        secret = webhook_secret_set(given)
        if given:
            self.stdout.write(self.style.SUCCESS("Delivery webhook secret set (stored encrypted)."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Delivery webhook secret set (stored encrypted; shown only now): {secret}"
                )
            )
