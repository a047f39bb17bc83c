"""Waiting for real workers and servers: on the event, not on a fixed budget.

A busy machine (two test runs, a build) makes a worker slow, not stuck.  ``wait_for`` therefore gives up
only after ``seconds`` *without progress*: each time ``progress()`` returns something new (a worker's log
growing, rows being stored) the wait starts again, up to ``ceiling`` in all.  A stuck worker still fails
after ``seconds``; a slow one that keeps working does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CEILING = 900.0  # seconds: nothing in the suite legitimately takes longer


def log_size(path: Path) -> Callable[[], int]:
    """Progress as a log file's size (a worker writes a line per task and per page)."""
    return lambda: path.stat().st_size if path.exists() else 0


def wait_for(
    condition: Callable[[], Any],
    seconds: float,
    message: str | Callable[[], str],
    *,
    progress: Callable[[], Any] | None = None,
    ceiling: float = CEILING,
) -> Any:
    started = time.monotonic()
    deadline = started + seconds
    seen = progress() if progress else None
    while True:
        value = condition()
        if value:
            return value
        now = time.monotonic()
        if progress is not None:
            current = progress()
            if current != seen:
                seen, deadline = current, now + seconds
        if now >= min(deadline, started + ceiling):
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.05)


def tail(path: Path, label: str, size: int = 3000) -> Callable[[], str]:
    """A failure message: ``label`` and the end of a worker's log, read when the wait gives up."""
    return lambda: f"{label}: {path.read_text(errors='replace')[-size:]}"


def wait_on_log(condition: Callable[[], Any], log: Path, label: str, seconds: float = 120) -> Any:
    """``wait_for`` a worker whose progress is its log: gives up after ``seconds`` of silence."""
    return wait_for(condition, seconds, tail(log, label), progress=log_size(log))
