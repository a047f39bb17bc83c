"""API tokens for BI tools: hashed at rest, scoped by role and teams, read-only, revocable."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from metrics.core.models import Team


class ApiToken(models.Model):
    """A bearer token.  Only ``sha256(token)`` is stored; ``prefix`` (visible) finds the row.

    ``all_teams`` must be set explicitly for an unscoped token, so a scoped token whose teams are
    deleted sees nothing rather than everything.
    """

    class Role(models.TextChoices):
        VIEWER = "viewer"
        EXECUTIVE = "executive"
        MANAGER = "manager"
        ADMIN = "admin"

    name = models.CharField(max_length=200, help_text="who or what uses it, e.g. 'Power BI finance'")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    role = models.CharField(
        max_length=10,
        choices=Role.choices,
        default=Role.VIEWER,
        help_text="admin and manager see people's names; executive and viewer see pseudonyms",
    )
    all_teams = models.BooleanField(
        default=True, help_text="unscoped: every team; else only the teams below and their sub-teams"
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.role})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
