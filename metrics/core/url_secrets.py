"""Secrets stay out of URLs and out of access logs.

API tokens are accepted only in the ``Authorization`` header: a request with a token-like query parameter
is refused with a 400 naming the rule (a URL ends up in access logs, proxy logs, browser history and
``Referer`` headers).  And whatever a client sends, access logs (gunicorn, runserver, Django's request
log) show neither query strings nor the token of a password-reset link (``/accounts/reset/<uid>/<token>/``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SECRET_PARAMS = ("token", "access_token", "api_token", "api_key", "apikey", "private_token")
_QUERY = re.compile(r"\?[^\s\"']*")
_RESET = re.compile(r"(/reset/)[^/\s\"']+/[^/\s\"'?]+")


def redact_url(text: str) -> str:
    """``text`` with every query string and every password-reset link's uid and token replaced."""
    return _RESET.sub(r"\1[redacted]", _QUERY.sub("?[redacted]", text))


class RedactUrlFilter(logging.Filter):
    """For the request loggers (``django.server``: runserver's access log; ``django.request``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        return True


class QueryStringSecretMiddleware:
    """A 400 for any request carrying a credential in its query string, before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = next((name for name in SECRET_PARAMS if name in request.GET), None)
        if found is not None:
            return HttpResponse(
                f"Query parameter {found!r} refused: credentials go in the Authorization header "
                "(Authorization: Bearer <token>), never in the URL.",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
