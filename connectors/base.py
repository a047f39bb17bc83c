"""The connector interface: one ABC, many sources, one error type.

A connector reads one source and yields frozen records (``connectors.records``).  It never
touches the database; the ingestion services upsert what it yields.
"""

from __future__ import annotations

import abc
import copy
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from connectors.records import Record

ProgressCallback = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``; total is None when unknown."""


REDACTED = "[redacted]"
MIN_SECRET = 6  # shorter "secrets" (test stubs) would blank out ordinary words
_CREDENTIAL_PATTERNS = (
    # Authorization / PRIVATE-TOKEN style headers, with or without a scheme word, as a server echoes them.
    re.compile(
        r"(?i)\b((?:proxy-)?authorization|private-token|x-gitlab-token|x-api-key|job-token)"
        r"([\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|token|basic)\s+)?[^\s\"',;)]+"
    ),
    re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # key=value and "key": "value" forms (query strings, JSON bodies).
    re.compile(
        r"(?i)\b(access[_-]?token|private[_-]?token|api[_-]?key|password|passwd|secret|token)"
        r"([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;)]{6,}"
    ),
)
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|gl(?:pat|dt|rt|ptt|oas|cbt|imt)-[A-Za-z0-9_-]{16,})"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
    re.DOTALL,
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given ``secrets`` (and their URL-encoded forms), credential headers, bearer
    tokens, ``token=...`` pairs and well-known token shapes (GitHub, GitLab, PEM keys).  Remote error
    bodies pass through here before they are stored or shown: a server may echo what it was sent."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), *[ln.strip() for ln in secret.splitlines()]}:
            if len(form) >= MIN_SECRET:
                text = text.replace(form, REDACTED)
    text = _TOKEN_SHAPES.sub(REDACTED, text)
    for pattern in _CREDENTIAL_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return text


class ConnectorError(Exception):
    """A source could not be read.

    ``permanent`` errors (bad path, revoked token, malformed file) must not be retried;
    temporary ones may be, after ``retry_after`` seconds when the source said so.
    The message must name the problem and must never contain a credential: it is passed through
    ``redact`` (the source's own secrets are removed too where it is stored, ``ingestion.sync``).
    """

    def __init__(self, message: str, *, permanent: bool = True, retry_after: float | None = None) -> None:
        super().__init__(redact(message))
        self.permanent = permanent
        self.retry_after = retry_after


T = TypeVar("T")
SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)


def malformed_answers(vendor: str, items: Iterator[T]) -> Iterator[T]:
    """``items`` as they come; a KeyError/TypeError/... while producing them means the vendor's answer had
    another shape than documented (a field missing, a list where an object belongs), which a retry will
    not change: a permanent one-line ConnectorError naming the field, instead of a traceback."""
    try:
        yield from items
    except KeyError as exc:
        name = exc.args[0] if exc.args else "?"
        message = f"{vendor} answered a malformed response: field {name!r} is missing"
        raise ConnectorError(message) from None
    except SHAPE_ERRORS as exc:
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        message = f"{vendor} answered a malformed response ({type(exc).__name__}: {detail})"
        raise ConnectorError(message) from None


@dataclass(frozen=True)
class SourceConfig:
    """What a connector needs to reach one source.  ``secret`` is decrypted only in memory."""

    kind: str
    name: str
    location: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    secret: str = field(default="", repr=False)


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


BATCH_RECORDS = 2000  # records per stored page when a connector has no pages of its own


class Connector(abc.ABC):
    """One source.  Subclasses set ``kind`` and implement :meth:`records`; the rest has defaults.

    The whole contract the sync service (``metrics.ingestion.sync``) relies on:

    * ``checkpoint`` (dict): the resume point *after everything yielded so far that is complete*.  It
      starts as ``config.options["checkpoint"]`` (what the last run left); the sync stores it in the same
      transaction as the records it covers, so a killed run resumes with nothing lost or duplicated.  A
      connector that cannot resume leaves it as it found it.
    * :meth:`pages`: lists of records, ``checkpoint`` already describing the state after each list (one
      transaction per list).  Default: :meth:`records` in lists of ``BATCH_RECORDS``.
    * ``problems`` (list of str): non-fatal trouble (a repository deleted mid-sync), recorded on the run
      while the sync goes on.
    * ``counts`` (dict of int): extra counts for the run, such as ``api_requests``.  Default: none.
    """

    kind: str = ""

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        self.config = config
        self.progress: ProgressCallback = progress or _no_progress
        # A copy: the connector moves its checkpoint as it reads; the caller's options stay as given.
        self.checkpoint: dict[str, Any] = copy.deepcopy(dict(config.options.get("checkpoint") or {}))
        self.problems: list[str] = []

    @abc.abstractmethod
    def records(self) -> Iterator[Record]:
        """Yield every record the source holds (records are idempotent to upsert)."""

    def pages(self) -> Iterator[list[Record]]:
        """Lists of records to store one transaction each; default: :meth:`records` in lists of
        ``BATCH_RECORDS`` (``checkpoint`` is stored with each list as it stands then)."""
        batch: list[Record] = []
        for record in self.records():
            batch.append(record)
            if len(batch) >= BATCH_RECORDS:
                yield batch
                batch = []
        if batch:
            yield batch

    @property
    def counts(self) -> dict[str, int]:
        """Extra counts of the last read (``api_requests``, ...); default: none."""
        return {}

    def check(self) -> None:  # noqa: B027 - optional hook with a sensible default
        """Raise ConnectorError when the source cannot be reached; default: nothing to check."""
