"""Backup and restore round trip, the way the README tells operators to do it.

PostgreSQL (CI): ``pg_dump -Fc`` of the test database, ``pg_restore`` into a fresh database, and
every table's row count and a content checksum of the key tables compared.  SQLite (embedded mode):
``sqlite3 .backup`` semantics through the sqlite3 backup API.
"""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

CHECKED = [
    "ingestion_pullrequest",
    "ingestion_commit",
    "ingestion_review",
    "core_person",
    "core_team",
    "ingestion_metricsnapshot",
]


def _fingerprint(cursor: Any, tables: list[str]) -> dict[str, tuple]:
    out = {}
    for table in tables:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
        out[table] = cursor.fetchone()
    cursor.execute(
        "SELECT number, title, CAST(merged_at AS TEXT) FROM ingestion_pullrequest "
        "ORDER BY repository_id, number"
    )
    out["prs"] = tuple(cursor.fetchall())
    return out


def _load() -> None:
    call_command("load_demo", "--seed", "3", "--small", stdout=StringIO(), stderr=StringIO())


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    _load()
    if connection.vendor == "sqlite":
        return _sqlite_round_trip(tmp_path)
    _postgres_round_trip(tmp_path)


def _postgres_round_trip(tmp_path: Path) -> None:
    params = connection.settings_dict
    base = ["-h", params["HOST"] or "127.0.0.1", "-p", str(params["PORT"] or 5432), "-U", params["USER"]]
    dump = tmp_path / "sextant.dump"
    subprocess.run(["pg_dump", *base, "-Fc", "-f", str(dump), params["NAME"]], check=True)
    restored = f"restore_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", *base, restored], check=True)
    try:
        subprocess.run(["pg_restore", *base, "--no-owner", "-d", restored, str(dump)], check=True)
        with connection.cursor() as cursor:
            original = _fingerprint(cursor, CHECKED)
        conninfo = f"host={base[1]} port={base[3]} user={base[5]} dbname={restored}"
        with psycopg.connect(conninfo) as other, other.cursor() as cursor:
            copy = _fingerprint(cursor, CHECKED)
    finally:
        subprocess.run(["dropdb", *base, "--if-exists", restored], check=True)
    assert original["ingestion_pullrequest"][0] > 100
    assert copy == original


def _sqlite_round_trip(tmp_path: Path) -> None:
    connection.ensure_connection()
    target = sqlite3.connect(tmp_path / "backup.sqlite3")
    connection.connection.backup(target)
    with connection.cursor() as cursor:
        original = _fingerprint(cursor, CHECKED)
    copy = _fingerprint(target.cursor(), CHECKED)
    target.close()
    assert original["ingestion_pullrequest"][0] > 100 and copy == original
