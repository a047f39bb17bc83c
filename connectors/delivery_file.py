"""Deployments and incidents from a file (``import_deployments``, ``import_incidents``) or one webhook body.

CSV or JSON Lines, chosen as for pull requests (``.csv``; ``.jsonl``/``.ndjson``; else a first ``{``
means JSON Lines).  UTF-8, column names case-insensitive, unknown columns ignored.  Timestamps are ISO
8601 with a UTC offset, within the believed range (connectors/timebounds.py).  Every problem in the file is
reported at once with its line and column, and nothing is imported until the file is clean.

Deployments:

| column        | required | value                                                                     |
|---------------|----------|---------------------------------------------------------------------------|
| `id`          | yes      | the deployment's id in your tool; unique per repository in the file       |
| `repository`  | yes      | `owner/name`                                                              |
| `environment` | yes      | e.g. `production`; `production`, `prod`, `prd` and `live` are production  |
| `sha`         | yes      | the deployed commit (7 to 64 hexadecimal characters)                      |
| `started_at`  | yes      | when the deployment started                                               |
| `finished_at` | no       | when it finished (its moment for the metrics; else `started_at`)          |
| `status`      | yes      | `success`, `failure`, `error`, `in_progress`, `queued` or `cancelled`     |
| `production`  | no       | `true`/`false`: overrides the environment's name                          |
| `url`         | no       | a link to the deployment                                                  |

Incidents:

| column          | required | value                                                                   |
|-----------------|----------|-------------------------------------------------------------------------|
| `id`            | yes      | the incident's id in your tool; unique in the file                      |
| `service`       | one of   | the service's name (mapped to a repository in Settings)                 |
| `repository`    | one of   | `owner/name`                                                            |
| `started_at`    | yes      | when the incident started                                               |
| `resolved_at`   | no       | when it was resolved (empty: still open)                                |
| `severity`      | no       | e.g. `SEV1`, `P2`                                                       |
| `deployment_id` | no       | the `id` of the deployment that caused it, where known                  |
| `sha`           | no       | the commit that caused it, where known                                  |
| `title`, `url`  | no       | text; a link                                                            |
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from connectors.file_rows import (
    Cells,
    Problems,
    Row,
    csv_rows,
    first_nonblank,
    jsonl_rows,
    parse_text,
    parse_timestamp,
)
from connectors.records import DeploymentRecord, IncidentRecord

R = TypeVar("R", DeploymentRecord, IncidentRecord)

PRODUCTION_NAMES = frozenset({"production", "prod", "prd", "live"})
STATUSES = frozenset({"success", "failure", "error", "in_progress", "queued", "cancelled"})
DEPLOYMENT_REQUIRED = ("id", "repository", "environment", "sha", "started_at", "status")
INCIDENT_REQUIRED = ("id", "started_at")
_REPO = re.compile(r"[\w.-]+(/[\w.-]+)+")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


def _text(limit: int):  # type: ignore[no-untyped-def]
    def parse(value: object) -> str:
        text = parse_text(value)
        if len(text) > limit:
            raise ValueError(f"longer than {limit} characters")
        return text

    return parse


def _repository(value: object) -> str:
    text = parse_text(value)
    if not _REPO.fullmatch(text) or len(text) > 300:
        raise ValueError(f"{text[:60]!r} is not a repository such as acme/api")
    return text


def _sha(value: object) -> str:
    text = parse_text(value)
    if not _SHA.fullmatch(text):
        raise ValueError(f"{text[:60]!r} is not a commit sha (7 to 64 hexadecimal characters)")
    return text.lower()


def _status(value: object) -> str:
    text = parse_text(value).lower()
    if text not in STATUSES:
        raise ValueError(f"{text[:40]!r} is not one of {', '.join(sorted(STATUSES))}")
    return text


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = parse_text(value).lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(f"{text[:20]!r} is not true or false")


def _url(value: object) -> str:
    text = _text(500)(value)
    if not text.startswith(("https://", "http://")):
        raise ValueError(f"{text[:60]!r} is not an http(s) link")
    return text


def _after(cells: Cells, column: str, start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end < start:
        cells.fail(column, f"{end.isoformat()} is before started_at {start.isoformat()}")


def deployment_from(cells: Cells, *, source: str) -> DeploymentRecord | None:
    """One deployment from a row's cells (``None``, with the problems in ``cells``, when it is bad)."""
    ext = cells.required("id", _text(100), "")
    repository = cells.required("repository", _repository, "")
    environment = cells.required("environment", _text(100), "")
    sha = cells.required("sha", _sha, "")
    started = cells.required("started_at", parse_timestamp, None)
    finished = cells.optional("finished_at", parse_timestamp)
    status = cells.required("status", _status, "")
    production = cells.optional("production", _flag)
    url = cells.optional("url", _url) or ""
    _after(cells, "finished_at", started, finished)
    if not cells.ok or started is None:
        return None
    return DeploymentRecord(
        repository=repository,
        external_id=ext,
        environment=environment,
        sha=sha,
        status=status,
        created_at=started,
        finished_at=finished,
        is_production=environment.lower() in PRODUCTION_NAMES if production is None else production,
        source=source,
        url=url,
    )


def incident_from(cells: Cells, *, source: str) -> IncidentRecord | None:
    """One incident from a row's cells (``None``, with the problems in ``cells``, when it is bad)."""
    ext = cells.required("id", _text(200), "")
    service = cells.optional("service", _text(200)) or ""
    repository = cells.optional("repository", _repository) or ""
    if not service and not repository and cells.ok:
        cells.fail("service", "a service or a repository is required")
    started = cells.required("started_at", parse_timestamp, None)
    resolved = cells.optional("resolved_at", parse_timestamp)
    severity = cells.optional("severity", _text(40)) or ""
    deployment = cells.optional("deployment_id", _text(100)) or ""
    sha = cells.optional("sha", _sha) or ""
    title = cells.optional("title", _text(2000)) or ""
    url = cells.optional("url", _url) or ""
    _after(cells, "resolved_at", started, resolved)
    if not cells.ok or started is None:
        return None
    return IncidentRecord(
        source=source,
        external_id=ext,
        started_at=started,
        title=title,
        resolved_at=resolved,
        severity=severity,
        service=service,
        repository=repository,
        deployment_id=deployment,
        sha=sha,
        url=url,
    )


def _rows(
    path: Path, problems: Problems, required: tuple[str, ...], one_of: tuple[str, ...]
) -> Iterator[Row]:
    suffix = path.suffix.lower()
    jsonl = suffix in {".jsonl", ".ndjson"} or (
        suffix != ".csv" and first_nonblank(path).lstrip().lstrip("\ufeff").startswith("{")
    )
    if jsonl:
        return jsonl_rows(path, problems)
    return csv_rows(path, required, problems, one_of=one_of)


def _unique(problems: Problems, line: int, key: object, seen: dict[object, int], what: str) -> bool:
    if key in seen:
        problems.add(line, "id", f"{what} already appears on line {seen[key]} (each may appear once)")
        return False
    seen[key] = line
    return True


def read_deployments(path: Path) -> list[DeploymentRecord]:
    """Every row as a deployment, or a ConnectorError naming every bad line (nothing is returned)."""

    def named(values: Mapping[str, object]) -> tuple[object, str]:
        key = (_key(values, "repository"), _key(values, "id"))
        return key, f"deployment {key[1]!r} of {key[0]!r}"

    return _read_all(path, DEPLOYMENT_REQUIRED, (), partial(deployment_from, source="file"), named)


def read_incidents(path: Path) -> list[IncidentRecord]:
    """Every row as an incident, or a ConnectorError naming every bad line (nothing is returned)."""

    def named(values: Mapping[str, object]) -> tuple[object, str]:
        key = _key(values, "id")
        return key, f"incident {key!r}"

    one_of = ("service", "repository")
    return _read_all(path, INCIDENT_REQUIRED, one_of, partial(incident_from, source="file"), named)


def _read_all(
    path: Path,
    required: tuple[str, ...],
    one_of: tuple[str, ...],
    build: Callable[[Cells], R | None],
    named: Callable[[Mapping[str, object]], tuple[object, str]],
) -> list[R]:
    """Every row through ``build`` (None for a bad one), each row's key once (``named``: the key and how a
    repeat is named), or a ConnectorError naming every bad line."""
    problems = Problems(path)
    out: list[R] = []
    seen: dict[object, int] = {}
    for line, values in _rows(path, problems, required, one_of):
        record = build(Cells(problems, line, values))
        key, what = named(values)
        if not _unique(problems, line, key, seen, what):
            continue
        if record is not None:
            out.append(record)
    problems.raise_if_any()
    return out


def _key(values: Mapping[str, object], column: str) -> str:
    try:
        return parse_text(values.get(column))
    except ValueError:
        return ""
