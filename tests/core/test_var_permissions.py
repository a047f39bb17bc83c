"""The embedded database holds live session keys (issue 15, finding 14): var/ is 0700 and the SQLite
file 0600, for a new installation and for one created before this rule."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = (
    "import os; os.umask(0o022)\n"
    "import django; django.setup()\n"
    "from django.db import connection\n"
    "with connection.cursor() as c: c.execute('CREATE TABLE IF NOT EXISTS t (x int)')\n"
)


def _run(var: Path) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "metrics.settings", "SEXTANT_VAR_DIR": str(var)}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, check=True, timeout=60)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_embedded_database_is_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    _run(var)
    assert _mode(var) == 0o700 and _mode(var / "sextant.sqlite3") == 0o600
    for extra in ("sextant.sqlite3-wal", "sextant.sqlite3-shm"):
        if (var / extra).exists():
            assert _mode(var / extra) == 0o600, extra


def test_an_older_world_readable_database_is_made_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    (var / "sextant.sqlite3").touch()
    (var / "sextant.sqlite3").chmod(0o644)
    _run(var)
    assert _mode(var) == 0o700 and _mode(var / "sextant.sqlite3") == 0o600
