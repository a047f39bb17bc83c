"""manage.py rotate_keys: re-encrypt every stored secret with the first of SEXTANT_ENCRYPTION_KEYS.

Rotation: put the new key first in SEXTANT_ENCRYPTION_KEYS (keep the old one after it), run this, then
remove the old key.  All or nothing: one transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from metrics.core import crypto
from metrics.core.models import DataSource
from metrics.ingestion.sync_sources import WEBHOOK_SECRET_OPTION


class Command(BaseCommand):
    help = "Re-encrypt all data-source secrets with the first key of SEXTANT_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        try:
            with transaction.atomic():
                for source in DataSource.objects.select_for_update().order_by("pk"):
                    what = f"token of {source.name}"
                    source.secret_encrypted = crypto.rotate(source.secret_encrypted, what=what)
                    webhook = source.options.get(WEBHOOK_SECRET_OPTION)
                    if webhook:
                        rotated = crypto.rotate(webhook, what=f"webhook secret of {source.name}")
                        source.options = {**source.options, WEBHOOK_SECRET_OPTION: rotated}
                    source.save(update_fields=["secret_encrypted", "options"])
                    count += 1
        except crypto.SecretDecryptionError as exc:
            raise CommandError(f"{exc}; nothing was changed") from None
        self.stdout.write(f"re-encrypted the secrets of {count} sources with the first encryption key")
