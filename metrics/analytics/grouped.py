"""Grouped statistics over many value columns and many groupings at once (the snapshot engine).

The snapshot recompute asks for the same statistics (p50/p75/p90 of nine spans, counts, shares,
distinct authors) under seven groupings of the same rows (organization, repository, team, person by
week and month).  Done one ``groupby().quantile()`` at a time that is ~60 full sorts.  Here each value
column is sorted **once**; every grouping then orders those sorted values by group with a stable radix
sort of small integer group codes (linear time), and reads the quantiles off at computed positions.

A :class:`Grouping` maps the rows of one base frame to integer group codes.  A row may belong to
several groups (a PR counts for its author's team and every team above it): ``rows`` then lists, per
membership, the base row it belongs to.

Results equal :func:`metrics.analytics.flow.grouped_quantiles` (linear interpolation between closest
ranks, as DuckDB's ``quantile_cont`` and pandas' default); ``tests/analytics/test_snapshot_engine.py``
checks that on random organizations.  Pure numpy and pandas: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def stable_order(codes: np.ndarray, ngroups: int) -> np.ndarray:
    """Stable argsort of integer codes in ``[0, ngroups)``: 16-bit radix passes, linear time."""
    if ngroups <= 1 << 8:
        return np.argsort(codes.astype(np.uint8), kind="stable")
    if ngroups <= 1 << 16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    wide = codes.astype(np.int64)
    order = np.argsort((wide & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while ngroups > 1 << shift:
        digit = ((wide[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order


def value_order(values: np.ndarray) -> np.ndarray:
    """Positions of the non-NaN ``values``, smallest first (the one sort each value column needs)."""
    order = np.argsort(values)  # NaN sorts last
    return order[: int(np.count_nonzero(~np.isnan(values)))]


@dataclass
class Grouping:
    """Memberships of the rows of a base frame (``size`` rows) in groups, under one or more codings.

    ``codes``: one array per coding (say by week and by month), the group of each membership,
    ``0 <= code < ngroups[k]``, or ``-1`` for none.  ``rows``: the base row of each membership;
    ``None`` when the memberships are the base rows themselves (each row in at most one group); the
    memberships are then kept in base-row order as counts per base row, and ``rows`` is cleared.
    Codings of one Grouping share the memberships, so the expensive part (putting the memberships in
    value order) is done once for all of them.  What a code means is the caller's business.
    """

    codes: list[np.ndarray]
    ngroups: list[int]
    size: int
    rows: np.ndarray | None = None
    _valid: np.ndarray | None = field(default=None, repr=False)
    _csr: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # int32 codes (half the memory of the memberships and their gathers) unless a coding is wider.
        wide = max(self.ngroups, default=0) >= np.iinfo(np.int32).max
        dtype = np.int64 if wide else np.int32
        self.codes = [np.asarray(c, dtype=dtype) for c in self.codes]
        keep = np.logical_and.reduce([c >= 0 for c in self.codes])
        if self.rows is not None:
            rows = np.asarray(self.rows, dtype=np.int64)[keep]
            # Memberships in base-row order (stable), kept as (count, first) per base row: a base
            # row's memberships are one slice, and the base row of each is implied by the counts.
            by_row = stable_order(rows, self.size)
            self.codes = [c[keep][by_row] for c in self.codes]
            count = np.bincount(rows, minlength=self.size)
            self.rows = None
            self._csr = (count, np.cumsum(count) - count)
        elif not keep.all():
            self._valid = keep

    def members(self, base_rows: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, list[np.ndarray]]:
        """(memberships per base row or None for one each, base rows, codes of every membership) of
        ``base_rows``, in the order of ``base_rows``; :meth:`expand` gives each membership's value."""
        if self._csr is None:
            if self._valid is not None:
                base_rows = base_rows[self._valid[base_rows]]
            return None, base_rows, [c[base_rows] for c in self.codes]
        count, first = self._csr
        lengths = count[base_rows]
        offsets = np.cumsum(lengths) - lengths
        index = np.repeat(first[base_rows] - offsets, lengths)
        index += np.arange(len(index))
        return lengths, base_rows, [c[index] for c in self.codes]

    @staticmethod
    def expand(values: np.ndarray, lengths: np.ndarray | None, base_rows: np.ndarray) -> np.ndarray:
        """``values`` of the base rows, one per membership (as :meth:`members` lists them)."""
        picked = values[base_rows]
        return picked if lengths is None else np.repeat(picked, lengths)

    def sums(self, mask: np.ndarray, weights: np.ndarray | None = None) -> list[np.ndarray]:
        """Per coding, per group: memberships whose base row is in ``mask`` (or their ``weights`` summed)."""
        if self._csr is not None:  # every membership, in base-row order: as they are stored
            count = self._csr[0]
            take = np.repeat(mask, count)
            w = None if weights is None else np.repeat(weights, count)[take]
        else:  # every base row, in at most one group
            take = mask if self._valid is None else mask & self._valid
            w = None if weights is None else weights[take]
        pairs = zip(self.codes, self.ngroups, strict=True)
        return [np.bincount(c[take], weights=w, minlength=g) for c, g in pairs]

    def quantiles(
        self, values: np.ndarray, qs: np.ndarray, order: np.ndarray | None = None
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per coding: (groups with a value, quantiles ``[group, q]``, n) of the non-NaN ``values``.

        ``order``: ``value_order(values)``, when the caller shares it between groupings.
        """
        lengths, base_rows, codings = self.members(value_order(values) if order is None else order)
        ordered_values = self.expand(values, lengths, base_rows)
        del lengths, base_rows
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        while codings:
            codes, ngroups = codings.pop(0), self.ngroups[len(out)]
            ordered = ordered_values[stable_order(codes, ngroups)]
            count = np.bincount(codes, minlength=ngroups)
            del codes
            groups = np.flatnonzero(count)
            n = count[groups]
            start = (np.cumsum(count) - count)[groups]
            rank = qs[None, :] * (n[:, None] - 1)  # within the group, so the fraction is exact
            below = np.floor(rank)
            low = start[:, None] + below.astype(np.int64)
            high = np.minimum(low + 1, (start + n - 1)[:, None])
            lo, hi = ordered[low], ordered[high]
            out.append((groups, lo + (hi - lo) * (rank - below), n))
        return out

    def distinct(self, labels: np.ndarray, by_label: np.ndarray) -> list[np.ndarray]:
        """Per coding, per group: how many distinct ``labels`` the base rows ``by_label`` carry.

        ``by_label``: the base rows to count, ordered by label (``rows_by_label``).
        """
        lengths, base_rows, codings = self.members(by_label)
        seen_all = self.expand(labels, lengths, base_rows)
        del lengths, base_rows
        out = []
        for codes, ngroups in zip(codings, self.ngroups, strict=True):
            by_group = stable_order(codes, ngroups)
            ordered, seen = codes[by_group], seen_all[by_group]
            new = np.ones(len(ordered), dtype=bool)
            new[1:] = (ordered[1:] != ordered[:-1]) | (seen[1:] != seen[:-1])
            out.append(np.bincount(ordered[new], minlength=ngroups))
        return out


def rows_by_label(labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The rows in ``mask`` with a label (non-negative int), ordered by label (for ``distinct``)."""
    rows = np.flatnonzero(mask & (labels >= 0))
    if len(rows) == 0:
        return rows
    return rows[stable_order(labels[rows], int(labels[rows].max()) + 1)]


def factorize_ids(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, ids) of integer ids (nullable or float with NaN): ``-1`` for a missing one; ids as int64
    in first-seen order."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), pd.Series(uniques).to_numpy(dtype=np.int64)
