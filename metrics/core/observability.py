"""Request/task ids in every log line, JSON log formatting, and secret redaction.

Each request gets an id (the incoming ``X-Request-ID`` when it is a sane token, else a new one),
echoed in the response; each Celery task logs under its task id.  The JSON formatter also scrubs
anything that looks like a credential, so a token pasted into an error message never reaches a log.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
task_id: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")
current_user_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("current_user_id", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Tokens of the shapes Sextant handles: GitHub (ghp_, gho_, ghs_, github_pat_), GitLab (glpat-),
# Sextant API tokens (sxt_), bearer headers, and key=value secrets in URLs or messages.
_SECRETS = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|sxt_[A-Za-z0-9_-]{16,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{12,}"
    r"|(?i:(?:token|password|secret|api_key|private_token)=)[^\s&\"']+)"
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``[redacted]``."""
    return _SECRETS.sub("[redacted]", text)


class ContextFilter(logging.Filter):
    """Adds request_id / task_id to every record and redacts secrets in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):  # "%(name)s"-style messages (Celery logs this way)
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, task_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("request_id", "task_id"):
            value = getattr(record, key, "")
            if value:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


class RequestContextMiddleware:
    """Sets the request id (and the acting user for the audit log) for the duration of a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        user = getattr(request, "user", None)
        user_token = current_user_id.set(user.pk if user is not None and user.is_authenticated else None)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
            current_user_id.reset(user_token)
        response["X-Request-ID"] = rid
        return response
