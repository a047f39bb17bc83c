"""The robustness value against the published worked example (Cinelli and Hazlett 2020, Darfur:
t = 4.18 with 783 degrees of freedom gives RV = 13.9% and RV_alpha = 7.6%)."""

from __future__ import annotations

import math

import pytest

from metrics.analytics import sensitivity


def test_published_example() -> None:
    result = sensitivity.robustness_value(4.18, 783)
    assert result.rv == pytest.approx(0.139, abs=0.001)
    assert result.rv_alpha == pytest.approx(0.076, abs=0.001)
    assert "14%" in result.words() and "8%" in result.words()


def test_an_interval_through_zero_needs_no_confounder() -> None:
    result = sensitivity.from_interval(-3.0, -8.0, 2.5, 400, "percent_change")
    assert result is not None and result.rv_alpha == 0 and 0 < result.rv < 0.2
    assert "already includes no effect" in result.words()


def test_from_a_stored_interval_recovers_t() -> None:
    # -20% with a symmetric log interval of se 0.05: t = log(0.8) / 0.05.
    b, se = math.log(0.8), 0.05
    low, high = (math.expm1(b - 1.959963984540054 * se) * 100, math.expm1(b + 1.959963984540054 * se) * 100)
    result = sensitivity.from_interval(-20.0, low, high, 1003, "percent_change")
    assert result is not None and result.t == pytest.approx(b / se, rel=1e-6) and result.df == 1000
    assert result.rv > result.rv_alpha > 0
    assert sensitivity.from_interval(None, None, None, 10, "percent_change") is None
