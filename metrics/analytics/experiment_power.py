"""The power of a planned experiment (see ``experiments`` for the design): from the organization's own
history, the minimum detectable effect per outcome, duration and share of units enrolled.  Pure
numpy/pandas."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from metrics.analytics.experiments import ALPHA, OUTCOMES, assign, itt, person_outcomes, strata_for

PLACEBO_DRAWS = 20
POWER = 0.8


def critical_sum(clusters: int) -> float:
    """t_{0.975} + t_{0.80} with G - 1 degrees of freedom: the MDE in standard errors."""
    df = max(clusters - 1, 1)
    return float(stats.t.ppf(1 - ALPHA / 2, df) + stats.t.ppf(POWER, df))


def variance_components(values: pd.Series, groups: pd.Series) -> tuple[float, float, float]:
    """(total variance, within-group variance, intraclass correlation) by one-way ANOVA."""
    frame = pd.DataFrame({"y": values.to_numpy(), "g": groups.to_numpy()}).dropna()
    if len(frame) < 3:
        return float("nan"), float("nan"), 0.0
    total = float(frame["y"].var(ddof=1))
    sizes = frame.groupby("g")["y"].size()
    k, n = len(sizes), len(frame)
    if k < 2 or n <= k:
        return total, total, 0.0
    means = frame.groupby("g")["y"].transform("mean")
    within = float(((frame["y"] - means) ** 2).sum() / (n - k))
    between = float((sizes * (frame.groupby("g")["y"].mean() - frame["y"].mean()) ** 2).sum() / (k - 1))
    m0 = (n - float((sizes**2).sum()) / n) / (k - 1)
    sigma_b = max((between - within) / m0, 0.0)
    return total, within, sigma_b / (sigma_b + within) if sigma_b + within > 0 else 0.0


def mde(
    outcome_values: pd.DataFrame, outcome: str, *, unit: str, treated: int, control: int
) -> dict[str, Any]:
    """Minimum detectable effect (model scale) for ``treated``/``control`` units.

    ``outcome_values``: person_id, team_id, stratum, and the outcome column (person-level over a window).
    People: variance within strata (assignment is stratified, the analysis has strata fixed effects).
    Teams: total variance times the design effect 1 + (m - 1) ICC, m people per team.
    """
    data = outcome_values.dropna(subset=[outcome])
    share = len(data) / max(len(outcome_values), 1)  # people with data in the window (cycle, reverts)
    if len(data) < 4 or treated < 2 or control < 2:
        return {"outcome": outcome, "mde": None, "status": "not enough data"}
    total, _, icc = variance_components(data[outcome], data["team_id"])
    _, within_stratum, _ = variance_components(data[outcome], data["stratum"])
    if unit == "person":
        variance, design_effect, clusters = within_stratum, 1.0, treated + control
        people_t, people_c = treated * share, control * share
    else:
        size = len(outcome_values) / max(outcome_values["team_id"].nunique(), 1)
        design_effect = 1 + (size * share - 1) * icc
        variance, clusters = total, treated + control
        people_t, people_c = treated * size * share, control * size * share
    if not np.isfinite(variance) or people_t < 1 or people_c < 1:
        return {"outcome": outcome, "mde": None, "status": "not enough data"}
    se = float(np.sqrt(variance * design_effect * (1 / people_t + 1 / people_c)))
    if unit == "person":
        placebo = _placebo_se(data, outcome)
        if placebo is None:
            return {"outcome": outcome, "mde": None, "status": "not enough data"}
        se = placebo / float(np.sqrt(max((treated + control) / max(len(outcome_values), 1), 1e-9)))
    value = critical_sum(int(clusters)) * se
    return {
        "outcome": outcome,
        "mde": value,
        "se": se,
        "sd": float(np.sqrt(variance)),
        "icc_team": icc,
        "design_effect": design_effect,
        "status": "ok",
    }


def _placebo_se(data: pd.DataFrame, outcome: str, draws: int = PLACEBO_DRAWS) -> float | None:
    """The standard error the analysis would report on this history: the root mean square of :func:`itt`'s
    standard error over placebo assignments drawn as the plan would (stratified, seeds 0..draws-1), with no
    effect added.  It carries the real strata sizes, PR volumes and their unevenness."""
    units = pd.DataFrame({"unit_id": data["person_id"].to_numpy(), "stratum": data["stratum"].to_numpy()})
    y = data[outcome].to_numpy(dtype=float)
    ids = units["unit_id"].to_numpy()
    squares = []
    for seed in range(draws):
        drawn = assign(units, seed=seed).set_index("unit_id")["arm"]
        z = drawn.reindex(ids).to_numpy(dtype=float)
        result = itt(outcome, y, z, ids, units["stratum"].to_numpy())
        if result.se is not None:
            squares.append(result.se**2)
    return float(np.sqrt(np.mean(squares))) if squares else None


def shown_mde(outcome: str, value: float | None) -> float | None:
    """The MDE on the scale users read (a reduction of cycle time in %, PRs/week, percentage points)."""
    if value is None:
        return None
    if outcome == "cycle_time":
        return float(-np.expm1(-value) * 100)
    if outcome == "revert_rate":
        return value * 100
    return value


def power_table(
    prs: pd.DataFrame,
    units: pd.DataFrame,
    *,
    unit: str,
    end: pd.Timestamp,
    durations: tuple[int, ...] = (4, 8, 12, 26),
    fractions: tuple[float, ...] = (0.25, 0.5, 1.0),
    outcomes: tuple[str, ...] = OUTCOMES,
    baseline_weeks: int = 12,
) -> list[dict[str, Any]]:
    """MDE per outcome, duration (weeks) and share of the eligible units enrolled (half treated).

    ``prs``: author_id, merged_at, log_cycle, reverted.  ``units``: person_id, team_id (the eligible
    people).  Each duration uses the last ``duration`` weeks of history before ``end``; the strata use
    the ``baseline_weeks`` before that window.
    """
    rows = []
    people = units["person_id"]
    for weeks in durations:
        start = end - pd.Timedelta(weeks=weeks)
        values = person_outcomes(prs, people, start, end).merge(
            units[["person_id", "team_id"]], on="person_id"
        )
        base = person_outcomes(prs, people, start - pd.Timedelta(weeks=baseline_weeks), start)
        baseline = values["person_id"].map(base.set_index("person_id")["cycle_time"])
        frame = pd.DataFrame(
            {"unit_id": values["person_id"], "team_id": values["team_id"], "baseline": baseline}
        )
        values["stratum"] = strata_for(frame, by_team=True).to_numpy()
        available = len(values) if unit == "person" else values["team_id"].nunique()
        for fraction in fractions:
            enrolled = int(available * fraction)
            treated, control = enrolled - enrolled // 2, enrolled // 2
            for outcome in outcomes:
                result = mde(values, outcome, unit=unit, treated=treated, control=control)
                rows.append(
                    {
                        **result,
                        "weeks": weeks,
                        "fraction": fraction,
                        "units": enrolled,
                        "mde_shown": shown_mde(outcome, result.get("mde")),
                    }
                )
    return rows
