"""An audit trail of administrative changes, recorded from model signals.

Audited: data sources, AI tool costs, API tokens, user roles, report schedules (recipients), users
and groups.  A change records the fields that changed; values of secret fields (anything with
secret, password, token, key, hash or webhook in its name) are recorded as "[changed]", never in clear.
Bookkeeping fields a sync writes (checkpoint, last_success_at, ...) do not make an entry.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from metrics.core.observability import current_user_id

AUDITED = (
    "core.DataSource",
    "core.AITool",
    "core.Organization",
    "api.ApiToken",
    "web.UserProfile",
    "reports.ReportSchedule",
    "auth.User",
    "auth.Group",
)
IGNORED_FIELDS = {
    "checkpoint",
    "last_success_at",
    "last_error",
    "last_used_at",
    "last_login",
    "updated_at",
    "last_period_sent",
}
# webhook: a chat webhook URL (report digests) is a credential
SECRET_WORDS = ("secret", "password", "token", "key", "hash", "webhook")


def _is_secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def _without_secrets(value: Any) -> Any:
    """A JSON value with every secret-named key's value (even an encrypted one) replaced."""
    if isinstance(value, dict):
        return {k: "[secret]" if _is_secret(str(k)) else _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _values(instance: models.Model) -> dict[str, Any]:
    out = {}
    for field in instance._meta.concrete_fields:
        if field.name in IGNORED_FIELDS or field.primary_key:
            continue
        value = _without_secrets(field.value_from_object(instance))
        out[field.name] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    return out


def _shown(name: str, value: Any) -> Any:
    return "[changed]" if _is_secret(name) else value


def _before(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if instance.pk is None:
        instance._audit_before = None  # type: ignore[attr-defined]
        return
    previous = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = _values(previous) if previous else None  # type: ignore[attr-defined]


def _after(sender: type[models.Model], instance: models.Model, created: bool, **kwargs: Any) -> None:
    from metrics.core.models import AuditLog

    now = _values(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        changes = {k: _shown(k, v) for k, v in now.items() if v not in (None, "", [], {})}
        action = "create"
    else:
        changes = {
            k: {"from": _shown(k, before.get(k)), "to": _shown(k, v)}
            for k, v in now.items()
            if before.get(k) != v
        }
        action = "update"
        if not changes:
            return
    AuditLog.objects.create(
        actor_id=current_user_id.get(),
        action=action,
        object_type=sender._meta.label,
        object_id=str(instance.pk),
        object_repr=str(instance)[:300],
        changes=changes,
    )


def _deleted(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    from metrics.core.models import AuditLog

    AuditLog.objects.create(
        actor_id=current_user_id.get(),
        action="delete",
        object_type=sender._meta.label,
        object_id=str(instance.pk),
        object_repr=str(instance)[:300],
        changes={},
    )


def connect() -> None:
    """Connect the signal handlers for every audited model that is installed."""
    for label in AUDITED:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        uid = f"audit:{label}"
        pre_save.connect(_before, sender=model, dispatch_uid=uid + ":pre")
        post_save.connect(_after, sender=model, dispatch_uid=uid + ":post")
        post_delete.connect(_deleted, sender=model, dispatch_uid=uid + ":delete")
