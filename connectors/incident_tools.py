"""What the incident-tool connectors (PagerDuty, Opsgenie, Jira) share: reading a vendor timestamp, the
windowed offset pass PagerDuty and Opsgenie page through, and ``IncidentConnector``, the base class that
wires a vendor's JSON API, its counts, its pages (malformed answers as one clear error) and its checkpoint.

A windowed pass reads the incidents *created* in ``[since, until)`` in pages of ``offset``/``limit``,
oldest first.  Its checkpoint (``{"pass": {...}}`` while it runs, ``{"since": ...}`` between runs) is
replaced after each page, so a killed sync resumes at the page it was reading: nothing lost, and what is
read twice is upserted on its natural key (``source``, ``external_id``), never doubled.  The next run starts
at the creation time of the oldest incident still open at the end of the pass (so its resolution is read
when it comes), else where this pass ended.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from connectors.base import Connector, ConnectorError, ProgressCallback, SourceConfig, malformed_answers
from connectors.http_json import JsonApi
from connectors.records import IncidentRecord, Record
from connectors.timebounds import believable

DEFAULT_DAYS = 180  # how far back a first sync reads
MAX_OFFSET = 10_000  # PagerDuty answers at most 10,000 records per query (offset + limit)


def moment(value: object) -> datetime | None:
    """A vendor timestamp (``2024-05-01T09:30:00Z``, ``...+02:00``, Jira's ``...+0000``, epoch
    milliseconds), offset kept; None when absent or outside the believable range (``timebounds``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return believable(datetime.fromtimestamp(value / 1000, UTC))
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"timestamp {value[:40]!r} is not ISO 8601") from None
    return believable(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC))


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_of_first_sync(options: dict[str, Any], now: datetime) -> datetime:
    try:
        days = int(options.get("days") or DEFAULT_DAYS)
    except (TypeError, ValueError):
        raise ConnectorError(f"'days' must be a whole number of days, not {options.get('days')!r}") from None
    return now - timedelta(days=max(days, 1))


@dataclass(frozen=True)
class Page:
    """One page of a windowed pass: its records, whether more follow, and the creation time of its last
    item (where a new query starts when the vendor's offset limit is reached)."""

    records: list[Record]
    more: bool
    last_created: datetime | None


def windowed_pages(
    checkpoint: dict[str, Any],
    *,
    options: dict[str, Any],
    read: Callable[[datetime, datetime, int], Page],
    save: Callable[[dict[str, Any]], None],
    limit: int,
    window: timedelta,
    now: datetime | None = None,
) -> Iterator[list[Record]]:
    """Pages of a windowed pass (see the module docstring).  ``read(since, until, offset)`` fetches one
    page; ``save(checkpoint)`` stores the checkpoint that covers the page before it is yielded; ``window``
    is the longest range one query may span (PagerDuty: 6 months)."""
    now = now or datetime.now(UTC)
    state = copy.deepcopy(checkpoint.get("pass"))
    if not state:
        since = moment(checkpoint.get("since")) or start_of_first_sync(options, now)
        state = {"since": iso(since), "end": iso(now), "offset": 0, "open": None}
        state["until"] = iso(min(since + window, now))
    while True:
        since, until, end = (_required(state, k) for k in ("since", "until", "end"))
        page = read(since, until, int(state["offset"]))
        for record in page.records:
            if isinstance(record, IncidentRecord) and record.resolved_at is None:
                opened = iso(record.started_at)
                state["open"] = min(state["open"] or opened, opened, key=_key)
        if page.more and int(state["offset"]) + 2 * limit <= MAX_OFFSET:
            state["offset"] = int(state["offset"]) + len(page.records)
            next_checkpoint: dict[str, Any] = {"pass": state}
        elif page.more and page.last_created is not None:
            state.update(since=iso(page.last_created), offset=0)  # a new query from the last one read
            next_checkpoint = {"pass": state}
        elif until < end:
            state.update(since=state["until"], until=iso(min(until + window, end)), offset=0)
            next_checkpoint = {"pass": state}
        else:
            resume = min(state["open"] or state["end"], state["end"], key=_key)
            next_checkpoint = {"since": resume}
        save(next_checkpoint)
        yield page.records
        if "since" in next_checkpoint:
            return


def _required(state: dict[str, Any], key: str) -> datetime:
    parsed = moment(state.get(key))
    if parsed is None:
        raise ConnectorError(f"the stored checkpoint has no valid {key!r}; clear it to read again")
    return parsed


def _key(value: str) -> datetime:
    parsed = moment(value)
    return parsed if parsed is not None else datetime.min.replace(tzinfo=UTC)


class IncidentConnector(Connector):
    """An incident tool read through its JSON API.  A subclass sets ``vendor`` (as errors name it) and
    ``window`` (the longest range one query may span) and implements :meth:`_read` (one page of a windowed
    pass, ``windowed_pages``) and :meth:`check`; a tool paged otherwise (Jira) overrides :meth:`_pages`.
    Options every tool reads: ``page_size`` (1 to 100, default 100) and the retry options of
    ``connectors.http_json`` (``max_retries``, ``backoff_seconds``, ``max_wait_seconds``)."""

    vendor: ClassVar[str] = ""
    window: ClassVar[timedelta] = timedelta(days=DEFAULT_DAYS)
    api: JsonApi  # set by the subclass's __init__, through json_api

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        self.page_size = min(max(int(config.options.get("page_size") or 100), 1), 100)
        self.read_count = 0

    def json_api(self, *, base_url: str, headers: dict[str, str], secrets: tuple[str, ...]) -> JsonApi:
        """The vendor's API at ``base_url`` (already through ``api_url_check``), with the source's retry
        options."""
        options = self.config.options
        return JsonApi(
            vendor=self.vendor,
            source=self.config.name,
            base_url=base_url,
            headers=headers,
            secrets=secrets,
            max_retries=int(options.get("max_retries", 5)),
            backoff=float(options.get("backoff_seconds", 0.5)),
            max_wait=float(options.get("max_wait_seconds", 60)),
            progress=self.progress,
        )

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.api.counts)

    def records(self) -> Iterator[Record]:
        for page in self.pages():
            yield from page

    def pages(self) -> Iterator[list[Record]]:
        return malformed_answers(self.vendor, self._pages())

    def _pages(self) -> Iterator[list[Record]]:
        yield from windowed_pages(
            self.checkpoint,
            options=self.config.options,
            read=self._read,
            save=self._save,
            limit=self.page_size,
            window=self.window,
        )

    def _save(self, checkpoint: dict[str, Any]) -> None:
        self.checkpoint = checkpoint

    def _read(self, since: datetime, until: datetime, offset: int) -> Page:
        """One page of the incidents created in ``[since, until)`` from ``offset``."""
        raise NotImplementedError

    def counted(self, stage: str, items: list[Any]) -> None:
        """Count ``items`` as read and report the running total as ``stage``."""
        self.read_count += len(items)
        self.progress(stage, self.read_count, None)
