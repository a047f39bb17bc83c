"""The snapshot recompute's output rows, collected as compact numpy blocks and turned into one frame.

Each block is one metric of one scope and period coding: the group codes (int32), the values (float64)
and the counts (int32); the id and period start of a row are looked up from the group code only when
the frame is built.  That keeps the collected rows at 16 bytes each instead of 32 (a full recompute at
1M PRs collects ~7M rows), and :meth:`Rows.frame` fills the output columns block by block, dropping
each block once copied, so the blocks and the output frame are not both held whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

OUTPUT_COLUMNS = [
    "scope",
    "team_id",
    "repository_id",
    "person_id",
    "period",
    "period_start",
    "metric",
    "value",
    "n",
]
SCOPES = ("organization", "team", "repository", "person")
PERIODS = ("week", "month")
ID_COLUMNS = (("team", "team_id"), ("repository", "repository_id"), ("person", "person_id"))


@dataclass
class _Block:
    scope: str
    period: str
    metric: str
    keys: np.ndarray | None  # the scope's keys (None: the organization)
    starts: np.ndarray  # the coding's period starts (datetime64[D])
    groups: np.ndarray
    value: np.ndarray
    n: np.ndarray

    def days(self) -> np.ndarray:
        """The first day of each row's period, as days since 1970-01-01."""
        return self.starts.astype(np.int64)[self.groups % len(self.starts)]


class Rows:
    """Snapshot rows of the metrics named in ``metrics`` (the output's metric categories, in order)."""

    def __init__(self, metrics: tuple[str, ...]) -> None:
        self.metrics = metrics
        self.blocks: list[_Block] = []

    def add(
        self,
        scope: str,
        period: str,
        keys: np.ndarray | None,
        starts: np.ndarray,
        metric: str,
        groups: np.ndarray,
        value: np.ndarray,
        n: np.ndarray,
    ) -> None:
        """Rows of ``metric`` for the groups ``groups`` of a coding: group ``g`` is the key
        ``keys[g // len(starts)]`` in the period starting ``starts[g % len(starts)]``."""
        self.blocks.append(
            _Block(
                scope,
                period,
                metric,
                keys,
                starts,
                np.asarray(groups, dtype=np.int32),
                np.asarray(value, dtype=float),
                np.asarray(n, dtype=np.int32),
            )
        )

    def frame(self) -> pd.DataFrame:
        """Every row, one scope's rows together (in the order added within a scope); empties the blocks."""
        if not self.blocks:
            return pd.DataFrame(columns=OUTPUT_COLUMNS)
        # One scope's rows together: its id column is then one slice, the others' a missing slice.
        blocks = sorted(self.blocks, key=lambda b: SCOPES.index(b.scope))
        self.blocks = []
        return _frame(blocks, self.metrics)

    def frames(self, size: int) -> Iterator[pd.DataFrame]:
        """The rows of :meth:`frame`, in the same order, as frames of about ``size`` rows (whole blocks),
        each block dropped once its frame is built: the full recompute writes them one at a time, never
        holding the millions of output rows as one frame."""
        blocks = sorted(self.blocks, key=lambda b: SCOPES.index(b.scope))
        self.blocks = []
        while blocks:
            count, rows = 0, 0
            while count < len(blocks) and (rows < size or count == 0):
                rows += len(blocks[count].groups)
                count += 1
            part, blocks[:count] = blocks[:count], []
            yield _frame(part, self.metrics)


def _frame(blocks: list[_Block], metrics: tuple[str, ...]) -> pd.DataFrame:
    """The output frame of ``blocks`` (sorted by scope), emptying the list as each block is copied."""
    lengths = np.array([len(b.groups) for b in blocks])
    ends = np.cumsum(lengths)
    total = int(ends[-1])
    out: dict[str, object] = {}
    for name, values, labels in (
        ("scope", SCOPES, [b.scope for b in blocks]),
        ("period", PERIODS, [b.period for b in blocks]),
        ("metric", metrics, [b.metric for b in blocks]),
    ):
        index = {v: i for i, v in enumerate(values)}
        codes = np.repeat(np.array([index[label] for label in labels], dtype=np.int16), lengths)
        out[name] = pd.Categorical.from_codes(codes, categories=pd.Index(values))
    used = [b.days() for b in blocks if len(b.groups)]
    first = min(int(d.min()) for d in used) if used else 0
    last = max(int(d.max()) for d in used) if used else 0
    del used
    span = last - first + 1
    day_codes: np.ndarray[Any, np.dtype[np.signedinteger[Any]]] = np.empty(
        total, dtype=np.int16 if span < 32767 else np.int32
    )
    ids = {column: np.zeros(total, dtype=np.int64) for _, column in ID_COLUMNS}
    missing = {column: np.ones(total, dtype=bool) for _, column in ID_COLUMNS}
    id_column = dict(ID_COLUMNS)
    value = np.empty(total, dtype=float)
    n = np.empty(total, dtype=np.int64)
    start = 0
    for i in range(len(blocks)):
        block = blocks[i]
        blocks[i] = None  # type: ignore[call-overload]  # freed once copied
        end = start + len(block.groups)
        day_codes[start:end] = block.days() - first
        value[start:end] = block.value
        n[start:end] = block.n
        column = id_column.get(block.scope)
        if column is not None and block.keys is not None:
            ids[column][start:end] = block.keys[block.groups // len(block.starts)]
            missing[column][start:end] = False
        start = end
    for _, column in ID_COLUMNS:
        out[column] = pd.arrays.IntegerArray(ids.pop(column), missing.pop(column))
    calendar = (first + np.arange(span)).astype("datetime64[D]").astype(object)
    # Categorical of datetime.date: millions of rows share a few hundred dates.
    out["period_start"] = pd.Categorical.from_codes(day_codes, categories=pd.Index(calendar))
    out["value"] = value
    out["n"] = n
    return pd.DataFrame({c: out[c] for c in OUTPUT_COLUMNS}, copy=False)
