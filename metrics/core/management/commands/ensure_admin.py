"""Create the first superuser with a random password, printed once and stored only as a hash."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

ADMIN_USERNAME = "admin"
LOGIN_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = "Create a superuser 'admin' with a random password if no superuser exists (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        with transaction.atomic():
            existing = user_model.objects.filter(is_superuser=True).order_by("pk").first()
            if existing is not None:
                name = existing.get_username()
                self.stdout.write(
                    f"A superuser already exists ({name}). "
                    f"To reset its password: python manage.py changepassword {name}"
                )
                return
            if user_model.objects.filter(**{user_model.USERNAME_FIELD: ADMIN_USERNAME}).exists():
                raise CommandError(
                    f"a user named {ADMIN_USERNAME!r} exists but is not a superuser; promote it in the "
                    "admin, or create one under another name with `python manage.py createsuperuser`"
                )
            password = secrets.token_urlsafe(15)
            user_model.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Admin login: {LOGIN_URL}  user: {ADMIN_USERNAME}  password: {password}")
        )
