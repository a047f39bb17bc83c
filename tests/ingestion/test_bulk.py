"""metrics/ingestion/bulk.py on the database under test (SQLite by default, PostgreSQL with DATABASE_URL):
large batches (COPY into a temporary table on PostgreSQL) and small ones (executemany) store the same
values, rows of one key in a batch merge as row-by-row upserts would, and a failing batch stores nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from metrics.ingestion import bulk
from metrics.ingestion.models import AIModelUsageDay, AIUsageDay
from metrics.ingestion.usage import MODEL_COLUMNS

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)
COLUMNS = MODEL_COLUMNS  # tool, user_key, day, model, person_id, requests, tokens x 4, cost, source
UNIQUE = ["tool", "user_key", "day", "model"]


def _row(user: int, requests: int, tokens: int, cost: str = "0.1250", day: date = DAY) -> tuple:
    return (
        "Tool",
        f"email:u{user}@example.com",
        day,
        "m",
        None,
        requests,
        tokens,
        0,
        0,
        0,
        Decimal(cost),
        "t",
    )


def _stored() -> dict[str, tuple]:
    return {
        r.user_key: (r.day, r.requests, r.input_tokens, r.cost, r.source)
        for r in AIModelUsageDay.objects.filter(tool="Tool")
    }


@pytest.mark.parametrize("size", [10, bulk.COPY_MIN + 200])  # executemany / COPY on PostgreSQL
def test_rows_of_one_key_merge_as_row_by_row_upserts(size: int) -> None:
    rows = [_row(i, i, 10 * i, day=DAY + timedelta(days=i % 3)) for i in range(size)]
    rows.append(_row(0, 777, 888, "9.9999"))  # same key as the first row, later in the batch
    assert (
        bulk.upsert_rows(AIModelUsageDay, COLUMNS, rows, unique=UNIQUE, update=["requests", "cost"])
        == size + 1
    )
    stored = _stored()
    assert len(stored) == size
    # the update fields of the last row, the rest of the first
    assert stored["email:u0@example.com"] == (DAY, 777, 0, Decimal("9.9999"), "t")
    assert stored["email:u5@example.com"] == (DAY + timedelta(days=2), 5, 50, Decimal("0.1250"), "t")
    # again with new values: every key conflicts now and takes the update fields only
    again = [_row(i, i + 1, 1, "1.5", day=DAY + timedelta(days=i % 3)) for i in range(size)]
    bulk.upsert_rows(AIModelUsageDay, COLUMNS, again, unique=UNIQUE, update=["requests", "cost"])
    stored = _stored()
    assert len(stored) == size
    assert stored["email:u5@example.com"] == (DAY + timedelta(days=2), 6, 50, Decimal("1.5000"), "t")


@pytest.mark.parametrize("size", [10, bulk.COPY_MIN + 200])
def test_do_nothing_keeps_the_first_row(size: int) -> None:
    rows = [_row(i, 1, 1) for i in range(size)] + [_row(3, 2, 2)]
    bulk.upsert_rows(AIModelUsageDay, COLUMNS, rows, unique=UNIQUE)
    assert _stored()["email:u3@example.com"][1:3] == (1, 1)
    assert AIModelUsageDay.objects.count() == size


@pytest.mark.parametrize("size", [10, bulk.COPY_MIN + 200])
def test_a_failing_batch_stores_nothing(size: int) -> None:
    rows = [_row(i, 1, 1) for i in range(size)]
    rows[size // 2] = (None, *rows[size // 2][1:])  # tool is NOT NULL
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.upsert_rows(AIModelUsageDay, COLUMNS, rows, unique=UNIQUE, update=["requests"])
    assert AIModelUsageDay.objects.count() == 0
    # and the connection is usable, the temporary table gone: the same batch without the bad row goes in
    del rows[size // 2]
    bulk.upsert_rows(AIModelUsageDay, COLUMNS, rows, unique=UNIQUE, update=["requests"])
    assert AIModelUsageDay.objects.count() == size - 1


def test_batches_of_one_transaction_each_store_their_own_rows() -> None:
    """PostgreSQL keeps its COPY table for the session: a second batch of a transaction sees none of the
    first one's rows (they would be written again, here over the second batch's values)."""
    size = bulk.COPY_MIN + 10
    with transaction.atomic():
        bulk.upsert_rows(AIModelUsageDay, COLUMNS, [_row(i, 1, 1) for i in range(size)], unique=UNIQUE)
        rows = [_row(i, 2, 2) for i in range(size)]
        bulk.upsert_rows(AIModelUsageDay, COLUMNS, rows, unique=UNIQUE, update=["requests", "input_tokens"])
    assert {values[1:3] for values in _stored().values()} == {(2, 2)}
    assert AIModelUsageDay.objects.count() == size


def test_columns_must_be_the_models_fields() -> None:
    with pytest.raises(ValueError, match="needs exactly the columns"):
        bulk.upsert_rows(AIModelUsageDay, COLUMNS[:-1], [_row(1, 1, 1)[:-1]])


def test_values_are_stored_as_the_orm_stores_them() -> None:
    """JSON, dates and decimals of a large batch read back equal to what the ORM writes for one row."""
    AIUsageDay.objects.create(
        tool="Orm", user_key="k", day=DAY, cost=Decimal("1.25"), source="s", extra={"a": 1.5}
    )
    names = bulk._fields(AIUsageDay)
    rows = [
        tuple(
            {"tool": "Bulk", "user_key": f"k{i}", "day": DAY, "cost": Decimal("1.25"), "source": "s"}.get(
                f.attname, {"a": 1.5} if f.name == "extra" else f.get_default()
            )
            for f in names
        )
        for i in range(bulk.COPY_MIN + 10)
    ]
    bulk.upsert_rows(AIUsageDay, [f.attname for f in names], rows, unique=["tool", "user_key", "day"])
    orm = AIUsageDay.objects.get(tool="Orm")
    fast = AIUsageDay.objects.get(tool="Bulk", user_key="k7")
    for f in names:
        if f.name not in ("tool", "user_key"):
            assert getattr(fast, f.attname) == getattr(orm, f.attname), f.name
