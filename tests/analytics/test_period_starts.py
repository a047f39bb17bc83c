"""The incremental recompute's period of a moment (``period_starts``) is the snapshot engine's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.analytics.snapshots import _period_codes, period_starts


@pytest.mark.parametrize("period", ["week", "month"])
def test_period_starts_match_the_engines_period_codes(period: str) -> None:
    rng = np.random.default_rng(3)
    seconds = rng.integers(0, 3 * 365 * 86400, 2000)
    moments = pd.Series(pd.to_datetime(1_700_000_000 + seconds, unit="s", utc=True))
    moments = pd.concat(
        [moments, pd.Series(pd.to_datetime(["2024-12-30 23:59:59", "2025-03-01 00:00:00"], utc=True))]
    )
    codes, starts = _period_codes(moments, period)
    engine = [d.item() for d in starts[codes]]
    assert list(period_starts(moments, period)) == engine
