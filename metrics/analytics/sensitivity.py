"""How strong an unmeasured confounder would have to be to explain an observational estimate away.

The robustness value of Cinelli and Hazlett (2020, "Making sense of sensitivity", JRSS B 82(1)):
with ``f = |t| / sqrt(df)`` (the partial Cohen's f of the treatment),

    RV = (sqrt(f^4 + 4 f^2) - f^2) / 2

is the share of the residual variance of *both* the treatment (AI use) and the outcome that a
confounder would have to explain to bring the estimate to zero; ``RV_alpha`` uses
``f - t*_{alpha, df-1} / sqrt(df - 1)`` and is what it takes to make the 95% interval include zero.
The t statistic here comes from the clustered standard error (recovered from the stored interval), a
common and slightly conservative stand-in for the classical one.  Pure functions, no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Robustness:
    rv: float  # to explain the whole effect away
    rv_alpha: float  # to make it no longer significant at 5%
    t: float
    df: int

    def words(self) -> str:
        """The sentence shown beside the estimate."""
        if self.rv_alpha <= 0:
            return (
                "Robustness: the interval already includes no effect, so no hidden factor is needed to "
                "explain it away."
            )
        return (
            f"Robustness: a hidden factor (one not adjusted for) would have to explain {self.rv:.0%} of what "
            f"is left unexplained both in who uses AI and in the outcome to explain this effect away, and "
            f"{self.rv_alpha:.0%} to make it indistinguishable from no effect."
        )


def _rv(f: float) -> float:
    if f <= 0:
        return 0.0
    return 0.5 * (math.sqrt(f**4 + 4 * f**2) - f**2)


def robustness_value(t: float, df: int, alpha: float = 0.05) -> Robustness:
    """RV and RV_alpha from a t statistic and the residual degrees of freedom."""
    if df < 2:
        raise ValueError("df: at least 2 degrees of freedom")
    f = abs(t) / math.sqrt(df)
    critical = float(stats.t.ppf(1 - alpha / 2, df - 1)) / math.sqrt(df - 1)
    return Robustness(rv=_rv(f), rv_alpha=_rv(f - critical), t=t, df=df)


def from_interval(
    estimate: float | None, low: float | None, high: float | None, n: int, unit: str, parameters: int = 3
) -> Robustness | None:
    """The robustness of a stored AI-impact estimate (``percent_change`` or ``percentage_points``, 95%
    interval); None when there is no estimate.  ``parameters``: regressors besides the fixed effects."""
    if estimate is None or low is None or high is None or n <= parameters + 2:
        return None
    if unit == "percent_change":
        to_log = [math.log1p(v / 100) for v in (estimate, low, high)]
        b, se = to_log[0], (to_log[2] - to_log[1]) / (2 * Z95)
    else:
        b, se = estimate, (high - low) / (2 * Z95)
    if se <= 0:
        return None
    return robustness_value(b / se, n - parameters)
