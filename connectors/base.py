"""The connector interface: one ABC, many sources, one error type.

A connector reads one source and yields frozen records (``connectors.records``).  It never
touches the database; the ingestion services upsert what it yields.
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from connectors.records import Record

ProgressCallback = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``; total is None when unknown."""


class ConnectorError(Exception):
    """A source could not be read.

    ``permanent`` errors (bad path, revoked token, malformed file) must not be retried;
    temporary ones may be, after ``retry_after`` seconds when the source said so.
    The message must name the problem and must never contain a credential.
    """

    def __init__(self, message: str, *, permanent: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
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


class Connector(abc.ABC):
    """One source.  Subclasses set ``kind`` and implement :meth:`records`."""

    kind: str = ""

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        self.config = config
        self.progress: ProgressCallback = progress or _no_progress

    @abc.abstractmethod
    def records(self) -> Iterator[Record]:
        """Yield every record the source holds (records are idempotent to upsert)."""

    def check(self) -> None:  # noqa: B027 - optional hook with a sensible default
        """Raise ConnectorError when the source cannot be reached; default: nothing to check."""
