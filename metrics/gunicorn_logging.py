"""gunicorn's access log without secrets: no query strings, no password-reset tokens, no credential
headers, whatever ``access_log_format`` asks for (``logger_class`` in metrics/gunicorn_conf.py)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from metrics.core.url_secrets import redact_url

_HIDDEN_HEADERS = (
    "{authorization}i",
    "{cookie}i",
    "{proxy-authorization}i",
    "{set-cookie}o",
    "{x-gitlab-token}i",
    "{query_string}e",
    "{http_authorization}e",
    "{http_cookie}e",
)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = redact_url(value)
        if atoms.get("q"):
            atoms["q"] = "[redacted]"
        for key in _HIDDEN_HEADERS:
            if key in atoms:
                atoms[key] = "[redacted]"
        return atoms
