"""Who may see what in the web UI: one profile per user with a role and, for managers, their teams."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UserProfile(models.Model):
    """A user's role.  Superusers are always admins; a user without a profile is a viewer.

    - ``admin``: everything, including settings and every person's data;
    - ``manager``: every team's aggregates, and per-person data (names, people tables, the author filter)
      of ``teams`` and the teams below them only;
    - ``executive``: every team's aggregates, costs and ROI; never a person's name;
    - ``viewer``: every team's aggregates, without names or money.
    """

    class Role(models.TextChoices):
        ADMIN = "admin"
        MANAGER = "manager"
        EXECUTIVE = "executive"
        VIEWER = "viewer"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sextant_profile"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    teams = models.ManyToManyField(
        "core.Team", blank=True, related_name="+", help_text="managers: the teams whose people they see"
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"
