"""The connector contract is declared on ``connectors.base.Connector`` (issue 14, item 6): a connector that
implements only ``records()`` has a checkpoint, pages, problems and counts by default, and the sync service
uses them directly (no ``getattr`` probing)."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import connectors.base
from connectors.base import Connector, SourceConfig
from connectors.records import IdentityRecord, PullRequestRecord, Record, RepositoryRecord
from metrics.core.models import DataSource
from metrics.ingestion import sync
from metrics.ingestion.models import PullRequest, SyncRun

PRS = 5


class OnlyRecords(Connector):
    """The least a connector can be: a kind and records()."""

    kind = "only-records"

    def records(self) -> Iterator[Record]:
        yield RepositoryRecord(full_name="acme/minimal")
        for number in range(1, PRS + 1):
            yield PullRequestRecord(
                repository="acme/minimal",
                number=number,
                title=f"change {number}",
                author=IdentityRecord(login="ada"),
                state="merged",
                created_at=datetime(2026, 1, number, 9, tzinfo=UTC),
                merged_at=datetime(2026, 1, number, 17, tzinfo=UTC),
            )


def test_the_base_class_declares_checkpoint_pages_problems_and_counts_with_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given = {"cursor": {"nested": 1}}
    connector = OnlyRecords(SourceConfig(kind="only-records", name="m", options={"checkpoint": given}))
    assert connector.checkpoint == given and connector.checkpoint is not given  # a copy to move
    connector.checkpoint["cursor"]["nested"] = 2
    assert given == {"cursor": {"nested": 1}}  # deep: the caller's options are left as given
    assert connector.problems == [] and connector.counts == {}
    monkeypatch.setattr(connectors.base, "BATCH_RECORDS", 2)
    assert [len(page) for page in connector.pages()] == [2, 2, 2]  # 1 repository + 5 PRs
    fresh = OnlyRecords(SourceConfig(kind="only-records", name="m"))
    assert fresh.checkpoint == {}


@pytest.mark.django_db
def test_a_connector_with_only_records_syncs_through_source_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sync.CONNECTOR_CLASSES, "only-records", OnlyRecords)
    monkeypatch.setattr(connectors.base, "BATCH_RECORDS", 4)  # two pages, two transactions
    source = DataSource.objects.create(kind="only-records", name="m", checkpoint={"cursor": "kept"})
    run = sync.source_sync(source=source)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert PullRequest.objects.filter(repository__full_name="acme/minimal").count() == PRS
    assert run.counts["records"] == PRS + 1 and run.counts["prs_new"] == PRS and run.counts["problems"] == 0
    source.refresh_from_db()
    assert source.checkpoint == {"cursor": "kept"}  # a connector that cannot resume leaves it as it was


def test_the_sync_service_probes_no_connector_attribute() -> None:
    """Every part of the contract is read as declared: no getattr/hasattr on a connector."""
    tree = ast.parse(inspect.getsource(sync))
    probes = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "hasattr")
        and not ast.unparse(node).startswith("getattr(importlib.import_module(")  # the lazy registry
    ]
    assert probes == []


def _declared(cls: type[Any]) -> set[str]:
    return {name for klass in cls.__mro__ for name in vars(klass)}


def test_every_connector_conforms() -> None:
    for kind in sync.CONNECTOR_PATHS:
        cls = sync.connector_class(kind)
        assert issubclass(cls, Connector)
        assert {"pages", "counts", "records", "check"} <= _declared(cls), kind
