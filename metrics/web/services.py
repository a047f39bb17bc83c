"""Changes the settings pages make: users and roles, teams and memberships, AI tool costs, ROI knobs.

Each service checks its input and raises ``SettingsError`` naming every bad field; nothing is stored
half-way (one transaction each).  The pages call these; tests call them too.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from connectors.base import ConnectorError
from connectors.records import IdentityRecord, TeamMembershipRecord
from connectors.teams_csv import read_memberships
from metrics.core.models import AITool, Organization, Team, TeamMembership, organization_settings_update
from metrics.ingestion.models import AISeatCount
from metrics.ingestion.services import records_ingest
from metrics.ingestion.teams import memberships_upsert
from metrics.web.access import MANAGER_GROUP, team_subtree
from metrics.web.models import UserProfile

MAX_CSV_BYTES = 5 * 1024 * 1024


class SettingsError(Exception):
    """``errors``: field -> what is wrong ("" for the whole form)."""

    def __init__(self, errors: str | Mapping[str, str]) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))


# --- users and roles ----------------------------------------------------------------------------------


def _teams(team_ids: Iterable[int | str]) -> list[Team]:
    ids = {int(t) for t in team_ids}
    teams = list(Team.objects.filter(pk__in=ids))
    if len(teams) != len(ids):
        raise SettingsError({"teams": "unknown team chosen; reload the page"})
    return teams


def user_role_set(*, user: AbstractUser, role: str, team_ids: Iterable[int | str] = ()) -> UserProfile:
    """Give ``user`` a role; managers need at least one team.  Keeps the Django group "manager" (which the
    surveys pages read) in step: admins and managers are in it, others are not."""
    if role not in UserProfile.Role.values:
        raise SettingsError({"role": f"{role!r} is not one of {', '.join(UserProfile.Role.values)}"})
    teams = _teams(team_ids)
    if role == UserProfile.Role.MANAGER and not teams:
        raise SettingsError({"teams": "a manager needs at least one team (they see its people)"})
    with transaction.atomic():
        profile, _ = UserProfile.objects.update_or_create(user=user, defaults={"role": role})
        profile.teams.set(teams if role == UserProfile.Role.MANAGER else [])
        group, _ = Group.objects.get_or_create(name=MANAGER_GROUP)
        if role in (UserProfile.Role.ADMIN, UserProfile.Role.MANAGER):
            user.groups.add(group)
        else:
            user.groups.remove(group)
    return profile


def user_create(
    *, username: str, email: str, password: str, role: str, team_ids: Iterable[int | str] = ()
) -> AbstractUser:
    model = get_user_model()
    username = username.strip()
    errors = {}
    if not username:
        errors["username"] = "a user needs a name to log in with"
    elif model.objects.filter(username__iexact=username).exists():
        errors["username"] = f"{username!r} is taken"
    try:
        validate_password(password, model(username=username, email=email))
    except ValidationError as exc:
        errors["password"] = " ".join(exc.messages)
    if errors:
        raise SettingsError(errors)
    with transaction.atomic():
        user = model.objects.create_user(username=username, email=email.strip(), password=password)
        user_role_set(user=user, role=role, team_ids=team_ids)
    return user


# --- teams and memberships ----------------------------------------------------------------------------


def _check_parent(team: Team | None, parent: Team | None) -> None:
    if team is not None and parent is not None and parent.pk in team_subtree([team.pk]):
        raise SettingsError(
            {"parent": f"{parent.name} is {team.name} or below it; a team cannot be its own parent"}
        )


def team_save(*, name: str, parent: Team | None, team: Team | None = None) -> Team:
    """Create a team (``team`` None) or rename/move one."""
    name = " ".join(name.split())
    if not name:
        raise SettingsError({"name": "a team needs a name"})
    slug = slugify(name)[:200] or "team"
    clash = Team.objects.filter(slug=slug).exclude(pk=team.pk if team else None).first()
    if clash is not None:
        raise SettingsError({"name": f"a team called {clash.name!r} already exists"})
    _check_parent(team, parent)
    with transaction.atomic():
        if team is None:
            return Team.objects.create(name=name, slug=slug, parent=parent)
        team.name, team.parent = name, parent
        team.save(update_fields=["name", "parent"])  # the slug (URLs, API filters) stays
        return team


def membership_add(*, team: Team, identity: str, name: str = "", start: dt.date | None) -> None:
    """Add a person (found or created by e-mail or login) to ``team`` from ``start`` on."""
    identity = identity.strip()
    if not identity:
        raise SettingsError({"identity": "give the person's e-mail address or Git host login"})
    record = IdentityRecord(
        name=name.strip(),
        email=identity if "@" in identity else "",
        login="" if "@" in identity else identity,
    )
    begins = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC) if start else None
    with transaction.atomic():
        memberships_upsert(
            records=[
                TeamMembershipRecord(
                    team=team.name, identities=(record,), person_name=name.strip(), start=begins
                )
            ]
        )


def membership_end(*, membership: TeamMembership, end: dt.date) -> None:
    ends = dt.datetime.combine(end, dt.time.min, tzinfo=dt.UTC)
    if membership.start is not None and ends < membership.start:
        raise SettingsError(
            {"end": f"the membership starts on {membership.start:%Y-%m-%d}; it cannot end before"}
        )
    membership.end = ends
    membership.save(update_fields=["end"])


def teams_csv_import(*, content: bytes) -> dict[str, int]:
    """The ``import_teams`` CSV, uploaded: every bad line named at once, nothing stored unless clean.
    Stores only: the view asks for the recompute."""
    if len(content) > MAX_CSV_BYTES:
        raise SettingsError({"file": f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB"})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "teams.csv"
        path.write_bytes(content)
        try:
            records = read_memberships(path)
        except ConnectorError as exc:
            raise SettingsError({"file": str(exc).replace(str(path), "the file")}) from None
    with transaction.atomic():
        counts = records_ingest(records=records).counts
    return {  # the caller asks for the recompute (metrics.ingestion.recompute)
        "memberships": int(counts.get("memberships", 0)),
        "teams": len({r.team.casefold() for r in records}),
        "people": len({min(i.key for i in r.identities) for r in records}),
    }


# --- AI tools and ROI knobs ---------------------------------------------------------------------------


def _number(value: Any, field: str, *, low: float, high: float) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise SettingsError({field: f"{value!r} is not a number"}) from None
    if not number.is_finite() or not low <= number <= high:
        raise SettingsError({field: f"use a number from {low:g} to {high:g}"})
    return number


def _organization_numbers_set(fields: tuple[tuple[str, str, Any, float, float], ...]) -> Organization:
    """Check every ``(key, label, value, low, high)`` and store them all in the organization's settings, or
    none: one SettingsError naming each bad one (after its label, when it has one)."""
    errors: dict[str, str] = {}
    values: dict[str, float] = {}
    for key, label, value, low, high in fields:
        try:
            values[key] = float(_number(value, key, low=low, high=high))
        except SettingsError as exc:
            errors.update({k: f"{label}: {v}" if label else v for k, v in exc.errors.items()})
    if errors:
        raise SettingsError(errors)
    return organization_settings_update(values)


def roi_settings_set(*, hourly_cost: Any, hours_per_pr: Any) -> Organization:
    return _organization_numbers_set(
        (
            ("loaded_hourly_cost", "", hourly_cost, 0.01, 10_000),
            ("engineering_hours_per_pr", "", hours_per_pr, 0.01, 1_000),
        )
    )


def review_settings_set(*, quick_minutes: Any, large_lines: Any) -> Organization:
    """Issue 17: the thresholds of a quick approval of a large PR (approved within ``quick_minutes`` of
    ready, on more than ``large_lines`` changed lines); both checked before either is stored."""
    return _organization_numbers_set(
        (
            ("quick_approval_minutes", "quick-approval minutes", quick_minutes, 0.5, 24 * 60),
            ("quick_approval_lines", "large-PR lines", large_lines, 1, 1_000_000),
        )
    )


def ai_tool_save(*, name: str, monthly_seat_cost: Any, currency: str, tool: AITool | None = None) -> AITool:
    name = " ".join(name.split())
    currency = currency.strip().upper() or "USD"
    errors = {}
    if not name:
        errors["name"] = "a tool needs a name, e.g. GitHub Copilot"
    elif AITool.objects.filter(name__iexact=name).exclude(pk=tool.pk if tool else None).exists():
        errors["name"] = f"{name!r} is already listed"
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = f"{currency!r} is not a three-letter currency code (USD, EUR, ...)"
    try:
        cost = _number(monthly_seat_cost, "monthly_seat_cost", low=0, high=100_000)
    except SettingsError as exc:
        errors.update(exc.errors)
    if errors:
        raise SettingsError(errors)
    tool = tool or AITool()
    tool.name, tool.monthly_seat_cost, tool.currency = name, cost.quantize(Decimal("0.01")), currency
    tool.save()
    return tool


def seat_count_save(*, tool: Any, month: Any, seats: Any) -> AISeatCount:
    """The seats paid for of one configured tool in one month (``YYYY-MM``), entered on the costs page;
    they win over the seats an API reports for that month.  Every bad field is named."""
    from connectors.seats_csv import SeatCountRecord, parse_month, parse_seats
    from metrics.ingestion.seats import seat_counts_set

    errors: dict[str, str] = {}
    found = AITool.objects.filter(pk=int(tool)).first() if str(tool).isdigit() else None
    if found is None:
        errors["tool"] = "choose one of the AI tools listed above (add it first)"
    parsed: dict[str, Any] = {}
    for field, value, parse in (("month", month, parse_month), ("seats", seats, parse_seats)):
        try:
            parsed[field] = parse(str("" if value is None else value).strip())
        except ValueError as exc:
            errors[field] = str(exc)
    if errors or found is None:
        raise SettingsError(errors)
    record = SeatCountRecord(tool=found.name, month=parsed["month"], seats=parsed["seats"])
    seat_counts_set(records=[record], source="settings")
    return AISeatCount.objects.get(tool=found.name, month=record.month)
