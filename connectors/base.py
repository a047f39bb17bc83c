"""The connector interface: one ABC, many sources, one error type.

A connector reads one source and yields frozen records (``connectors.records``).  It never
touches the database; the ingestion services upsert what it yields.
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

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
