"""Planned AI rollouts as experiments: assignment, power, and honest analysis.  Pure numpy/pandas.

Design (documented for users on the experiment page and in the README):

- **Assignment** (:func:`assign`): the units (people or teams) are shuffled with the plan's seed inside
  strata (team x baseline cycle time above/below the team's median for people; baseline tercile for
  teams) and dealt out in turn to the arms (treatment/control) or to the waves.  The same seed and the
  same units always give the same list.
- **Outcomes** per person over the window: mean log cycle time of the person's merged PRs
  (``cycle_time``, reported as % change), merged PRs per engineer per week (``throughput``, a
  difference) and the share of their PRs reverted (``revert_rate``, percentage points).
- **Intent to treat** (:func:`itt`): OLS of the outcome on assignment with strata fixed effects; the
  standard error is cluster-robust (CR1) by the randomization unit, 95% intervals use t with G - 1
  degrees of freedom (G clusters).
- **Effect on users** (:func:`iv`): two-stage least squares with assignment as the instrument for use of
  the tool (the Wald ratio when there are no strata), same clustering.  It is the effect on the people
  whom the assignment moved to use the tool (compliers).
- **Staggered waves** (:func:`staggered`): Callaway and Sant'Anna group-time effects ATT(g, t) on a
  unit x week panel, each wave compared with the units not yet treated (never two-way fixed effects,
  which compare late adopters with early ones and are biased when effects differ by wave or grow over
  time; :func:`twfe` is kept only to show that); aggregated over the identified post cells by wave size,
  and by weeks since the wave started (the event study).  Standard errors from the influence functions
  summed per cluster.
- **Power** (``experiment_power.power_table``): from the organization's own history, the person-level
  outcomes over the last T weeks.  People: the standard error the analysis itself reports over 20 placebo
  assignments drawn as the plan would on that history (simulation-based: it carries the real strata,
  PR volumes and their unevenness), scaled by the share enrolled.  Teams: the design-effect formula,
  ``s * sqrt(DE * (1/n_t + 1/n_c))`` with ``DE = 1 + (m - 1) ICC`` (team ICC from a one-way ANOVA).
  Minimum detectable effect at 80% power, 5% two-sided: ``(t_{.975} + t_{.80}) * SE``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

OUTCOMES = ("cycle_time", "throughput", "revert_rate")
OUTCOME_LABELS = {
    "cycle_time": "Cycle time",
    "throughput": "Merged PRs per engineer per week",
    "revert_rate": "Revert rate",
}
UNITS = {"cycle_time": "percent_change", "throughput": "prs_per_week", "revert_rate": "percentage_points"}
MIN_CLUSTERS = 4
ALPHA = 0.05


@dataclass(frozen=True)
class Effect:
    """One experimental estimate on the model scale (log for cycle time) and as shown (``shown_*``)."""

    outcome: str
    method: str  # itt | iv | staggered | twfe
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_clusters: int
    status: str = "ok"
    first_stage: float | None = None  # iv: the difference in use the assignment made

    @property
    def unit(self) -> str:
        return UNITS.get(self.outcome, "difference")

    @property
    def significant(self) -> bool:
        return self.status == "ok" and (self.ci_low > 0 or self.ci_high < 0)  # type: ignore[operator]

    def shown(self) -> dict[str, float | None]:
        """Estimate and interval on the scale users read: % change, PRs per week, percentage points."""
        if self.status != "ok":
            return {"estimate": None, "ci_low": None, "ci_high": None}
        values = (self.estimate, self.ci_low, self.ci_high)
        if self.outcome == "cycle_time":
            shown = [float(np.expm1(v) * 100) for v in values]  # type: ignore[arg-type]
        elif self.outcome == "revert_rate":
            shown = [float(v * 100) for v in values]  # type: ignore[operator]
        else:
            shown = [float(v) for v in values]  # type: ignore[arg-type]
        return dict(zip(("estimate", "ci_low", "ci_high"), shown, strict=True))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "unit": self.unit, "significant": self.significant, "shown": self.shown()}


def _not_enough(outcome: str, method: str, n: int, clusters: int) -> Effect:
    return Effect(outcome, method, None, None, None, None, n, clusters, "not enough data")


# --- assignment -------------------------------------------------------------------------------------


def strata_for(units: pd.DataFrame, by_team: bool) -> pd.Series:
    """Strata labels.  ``units``: unit_id, team_id, baseline (mean log cycle before; NaN if unknown).

    People (``by_team``): team x baseline at/below vs above the team's median ("no baseline" apart);
    a stratum of one joins its team's remainder.  Teams: the baseline tercile of the organization.
    """
    baseline = units["baseline"].astype(float)
    if by_team:
        median = baseline.groupby(units["team_id"]).transform("median")
        half = np.where(baseline.isna(), "none", np.where(baseline <= median, "fast", "slow"))
        label = pd.Series(
            [f"{team}/{part}" for team, part in zip(units["team_id"], half, strict=True)], index=units.index
        )
        sizes = label.map(label.value_counts())
        return label.where(sizes > 1, units["team_id"].astype(str) + "/rest")
    known = baseline.dropna()
    if len(known) < 3:
        return pd.Series("all", index=units.index)
    cuts = known.quantile([1 / 3, 2 / 3]).to_numpy()
    tercile = np.where(baseline.isna(), "none", np.where(baseline <= cuts[0], "fast", "middle"))
    tercile = np.where(baseline > cuts[1], "slow", tercile)
    return pd.Series(tercile, index=units.index)


def assign(units: pd.DataFrame, *, seed: int, arms: int = 2) -> pd.DataFrame:
    """``units`` (unit_id, stratum) -> unit_id, stratum, arm.

    ``arms=2``: arm 1 treatment, 0 control; ``arms=k>2`` staggered: arm is the wave 1..k-... (0 never
    used).  Within each stratum the units are shuffled and dealt in turn starting at a random arm.
    """
    rng = np.random.default_rng(seed)
    labels = units["stratum"].astype(str).to_numpy()
    ids = units["unit_id"].to_numpy()
    out_ids, out_strata, out_arms = [], [], []
    for stratum in np.unique(labels):
        members = np.sort(ids[labels == stratum])
        order = rng.permutation(len(members))
        start = int(rng.integers(arms))
        out_ids.append(members[order])
        out_strata.append(np.full(len(members), stratum, dtype=object))
        out_arms.append((start + np.arange(len(members))) % arms)
    frame = pd.DataFrame(
        {
            "unit_id": np.concatenate(out_ids),
            "stratum": np.concatenate(out_strata),
            "arm": np.concatenate(out_arms),
        }
    )
    if arms > 2:
        frame["arm"] += 1  # waves are numbered from 1
    return frame.sort_values("unit_id").reset_index(drop=True)


def plan_hash(plan: dict[str, Any]) -> str:
    """SHA-256 of the plan's canonical JSON (sorted keys, no spaces): what the freeze seals."""
    text = json.dumps(plan, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --- outcomes ---------------------------------------------------------------------------------------


def person_outcomes(
    prs: pd.DataFrame, people: pd.Series, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Per person over [start, end): cycle_time (mean log hours), throughput (PRs/week), revert_rate.

    ``prs``: author_id, merged_at (UTC), log_cycle, reverted (0/1).  ``people``: the person ids (all of
    them appear; throughput 0 without PRs, the others NaN).
    """
    window = prs[(prs["merged_at"] >= start) & (prs["merged_at"] < end) & prs["author_id"].isin(people)]
    weeks = max((end - start).days / 7, 1e-9)
    grouped = window.groupby("author_id")
    out = pd.DataFrame(index=pd.Index(people.unique(), name="person_id"))
    out["cycle_time"] = grouped["log_cycle"].mean()
    out["throughput"] = (grouped.size() / weeks).reindex(out.index).fillna(0.0)
    out["revert_rate"] = grouped["reverted"].mean()
    out["prs"] = grouped.size().reindex(out.index).fillna(0).astype(int)
    return out.reset_index()


# --- estimators -------------------------------------------------------------------------------------


def _codes(strata: np.ndarray | None, n: int) -> np.ndarray:
    return np.zeros(n, dtype=int) if strata is None else pd.factorize(strata)[0]


def _demean(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``values`` minus their stratum means (the strata fixed effects, by Frisch-Waugh-Lovell)."""
    counts = np.bincount(codes)
    return values - (np.bincount(codes, weights=values) / counts)[codes]


def _cluster_iv(
    y: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    clusters: np.ndarray,
    absorbed: int,
    strata: np.ndarray | None = None,
) -> tuple[float, float]:
    """(coefficient, cluster-robust standard error) of y on one regressor x instrumented by z (z = x: OLS),
    all already demeaned within strata.

    With ``strata`` (codes), each residual is scaled by 1 / sqrt(1 - leverage) (the stratum's 1/m plus the
    regressor's own share), the bias-reduced "CR2" correction, exact for one unit per cluster: with
    many small strata the usual CR1 factor n / (n - k) overstates the error.  Without, CR1 with
    ``absorbed`` fixed effects counted."""
    zx = float(z @ x)
    beta = float(z @ y) / zx
    u = y - x * beta
    codes = pd.factorize(clusters)[0]
    g, n = codes.max() + 1, len(y)
    if strata is not None:
        leverage = (1 / np.bincount(strata))[strata] + z * x / zx
        u = np.where(leverage < 0.999, u / np.sqrt(np.clip(1 - leverage, 1e-3, None)), 0.0)
        correction = 1.0
    else:
        correction = g / (g - 1) * (n - 1) / max(n - 1 - absorbed, 1)
    scores = np.bincount(codes, weights=z * u)
    return beta, float(np.sqrt((scores**2).sum() * correction) / abs(zx))


def _effect(outcome: str, method: str, b: float, se: float, n: int, g: int, **extra: Any) -> Effect:
    t = float(stats.t.ppf(0.975, max(g - 1, 1)))
    return Effect(outcome, method, b, se, b - t * se, b + t * se, n, g, **extra)


def _clean(*arrays: np.ndarray | None) -> tuple[np.ndarray, ...]:
    present = [np.asarray(a) for a in arrays if a is not None]
    keep = np.ones(len(present[0]), dtype=bool)
    for a in present:
        if a.dtype.kind == "f":
            keep &= ~np.isnan(a)
    return tuple(np.asarray(a)[keep] if a is not None else None for a in arrays)  # type: ignore[misc]


def itt(
    outcome: str, y: np.ndarray, z: np.ndarray, clusters: np.ndarray, strata: np.ndarray | None = None
) -> Effect:
    """Intent-to-treat: the difference assignment made, with strata fixed effects, clustered."""
    y, z, clusters, strata = _clean(
        np.asarray(y, float), np.asarray(z, float), np.asarray(clusters), None if strata is None else strata
    )
    g = len(np.unique(clusters))
    codes = _codes(strata, len(y))
    zt = _demean(z, codes)
    if g < MIN_CLUSTERS or np.abs(zt).max() < 1e-12:  # assignment constant within every stratum
        return _not_enough(outcome, "itt", len(y), g)
    b, se = _cluster_iv(_demean(y, codes), zt, zt, clusters, int(codes.max()) + 1, codes)
    return _effect(outcome, "itt", b, se, len(y), g)


def iv(
    outcome: str,
    y: np.ndarray,
    d: np.ndarray,
    z: np.ndarray,
    clusters: np.ndarray,
    strata: np.ndarray | None = None,
) -> Effect:
    """Effect on users: 2SLS of y on use ``d`` instrumented by assignment ``z`` (strata fixed effects)."""
    y, d, z, clusters, strata = _clean(
        np.asarray(y, float),
        np.asarray(d, float),
        np.asarray(z, float),
        np.asarray(clusters),
        None if strata is None else strata,
    )
    g = len(np.unique(clusters))
    if g < MIN_CLUSTERS or z.min() == z.max():
        return _not_enough(outcome, "iv", len(y), g)
    codes = _codes(strata, len(y))
    zt, dt, yt = _demean(z, codes), _demean(d, codes), _demean(y, codes)
    absorbed = int(codes.max()) + 1
    if np.abs(zt).max() < 1e-12:
        return _not_enough(outcome, "iv", len(y), g)
    moved, _ = _cluster_iv(dt, zt, zt, clusters, absorbed, codes)
    if abs(moved) < 0.05:  # a weak instrument: the assignment barely changed who used the tool
        return Effect(outcome, "iv", None, None, None, None, len(y), g, "weak instrument", moved)
    b, se = _cluster_iv(yt, dt, zt, clusters, absorbed, codes)
    return _effect(outcome, "iv", b, se, len(y), g, first_stage=moved)


@dataclass(frozen=True)
class Staggered:
    """Callaway-Sant'Anna results: the aggregate ``overall`` and the event study (weeks since start)."""

    overall: Effect
    event_study: list[dict[str, float | int | None]] = field(default_factory=list)
    cells: list[dict[str, float | int]] = field(default_factory=list)


def _att_cells(panel: np.ndarray, first: np.ndarray) -> list[tuple[int, int, float, np.ndarray, int]]:
    """Every identified (g, t): (g, t, ATT, per-unit influence).  Base period g - 1 (universal)."""
    n, periods = panel.shape
    cells = []
    for g in np.unique(first[np.isfinite(first)]).astype(int):
        base = g - 1
        if base < 0:
            continue
        for t in range(periods):
            if t == base:
                continue
            diff = panel[:, t] - panel[:, base]
            ok = ~np.isnan(diff)
            treated = ok & (first == g)
            control = ok & (first > max(t, base))
            nt, nc = int(treated.sum()), int(control.sum())
            if nt < 2 or nc < 2:
                continue
            mt, mc = diff[treated].mean(), diff[control].mean()
            influence = np.zeros(n)
            influence[treated] = (diff[treated] - mt) / nt
            influence[control] = -(diff[control] - mc) / nc
            cells.append((int(g), t, float(mt - mc), influence, nt))
    return cells


def _aggregate(
    cells: list[tuple[int, int, float, np.ndarray, int]], weights: np.ndarray, clusters: np.ndarray
) -> tuple[float, float]:
    w = weights / weights.sum()
    estimate = float(sum(wi * c[2] for wi, c in zip(w, cells, strict=True)))
    influence = sum(wi * c[3] for wi, c in zip(w, cells, strict=True))
    codes = pd.factorize(clusters)[0]
    per_cluster = np.bincount(codes, weights=influence)
    g = len(per_cluster)
    return estimate, float(np.sqrt((per_cluster**2).sum() * g / (g - 1)))


def staggered(
    outcome: str, panel: np.ndarray, first: np.ndarray, clusters: np.ndarray, max_event: int | None = None
) -> Staggered:
    """Group-time effects aggregated: ``panel`` units x periods (NaN missing), ``first`` each unit's first
    treated period index (``np.inf`` never), ``clusters`` per unit."""
    panel = np.asarray(panel, float)
    first = np.asarray(first, float)
    g_count = len(np.unique(clusters))
    cells = _att_cells(panel, first)
    post = [c for c in cells if c[1] >= c[0]]
    if g_count < MIN_CLUSTERS or not post:
        return Staggered(_not_enough(outcome, "staggered", int(np.isfinite(panel).sum()), g_count))
    sizes = {g: int((first == g).sum()) for g in {c[0] for c in cells}}
    estimate, se = _aggregate(post, np.array([sizes[c[0]] for c in post], float), clusters)
    n_obs = int(np.isfinite(panel).sum())
    overall = _effect(outcome, "staggered", estimate, se, n_obs, g_count)
    t_crit = float(stats.t.ppf(0.975, max(g_count - 1, 1)))
    study: list[dict[str, float | int | None]] = []
    for e in sorted({c[1] - c[0] for c in cells}):
        if max_event is not None and abs(e) > max_event:
            continue
        chosen = [c for c in cells if c[1] - c[0] == e]
        b, s = _aggregate(chosen, np.array([sizes[c[0]] for c in chosen], float), clusters)
        n_units = int(sum(c[4] for c in chosen))  # treated unit-weeks in these cells
        study.append(
            {"event": e, "estimate": b, "ci_low": b - t_crit * s, "ci_high": b + t_crit * s, "n": n_units}
        )
    study.append({"event": -1, "estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": 0})  # the base period
    study.sort(key=lambda row: int(row["event"] or 0))
    listed = [{"wave": c[0], "period": c[1], "att": c[2]} for c in cells]
    return Staggered(overall, study, listed)


def twfe(outcome: str, panel: np.ndarray, first: np.ndarray, clusters: np.ndarray) -> Effect:
    """Two-way fixed effects (unit and period) on "treated by now": shown only to say why it is not used."""
    panel = np.asarray(panel, float)
    n, periods = panel.shape
    treated = (np.arange(periods)[None, :] >= first[:, None]).astype(float)
    y, d = panel.copy(), treated.copy()
    mask = ~np.isnan(y)
    y[~mask], d[~mask] = 0.0, 0.0
    for _ in range(200):  # alternating projections on the observed cells
        for axis in (0, 1):
            count = np.maximum(mask.sum(axis=axis, keepdims=True), 1)
            y -= np.where(mask, y.sum(axis=axis, keepdims=True) / count, 0.0)
            d -= np.where(mask, d.sum(axis=axis, keepdims=True) / count, 0.0)
    yy, dd = y[mask], d[mask]
    cl = np.broadcast_to(np.asarray(clusters)[:, None], panel.shape)[mask]
    g = len(np.unique(cl))
    if g < MIN_CLUSTERS or np.abs(dd).max() < 1e-12:
        return _not_enough(outcome, "twfe", len(yy), g)
    b, se = _cluster_iv(yy, dd, dd, cl, n + periods - 1)
    return _effect(outcome, "twfe", b, se, len(yy), g)


# --- reading ------------------------------------------------------------------------------------------


READING_LABELS = {
    "cycle_time": "cycle time",
    "throughput": "merged PRs per engineer",
    "revert_rate": "the revert rate",
}


def _fmt(outcome: str, value: float) -> str:
    if outcome == "cycle_time":
        return f"{value:+.1f}%"
    if outcome == "revert_rate":
        return f"{value:+.1f} percentage points"
    return f"{value:+.2f} a week"


def reading(effect: Effect) -> str:
    """One plain sentence about an estimate."""
    label = READING_LABELS.get(effect.outcome, effect.outcome)
    if effect.status != "ok":
        return f"{OUTCOME_LABELS.get(effect.outcome, effect.outcome)}: {effect.status}; no number is shown."
    shown = effect.shown()
    who = {
        "itt": "Giving the tool to the assigned group changed",
        "iv": "For the people who used the tool because they were assigned it, using it changed",
        "staggered": "Across the rollout waves, getting the tool changed",
        "twfe": "Two-way fixed effects (not used) say",
    }[effect.method]
    low, high, estimate = (float(shown[key] or 0.0) for key in ("ci_low", "ci_high", "estimate"))
    span = f"{_fmt(effect.outcome, low)} to {_fmt(effect.outcome, high)}"
    text = (
        f"{who} {label} by {_fmt(effect.outcome, estimate)} (95% interval {span}; "
        f"n={effect.n}, {effect.n_clusters} clusters). "
    )
    if effect.significant:
        return text + "The interval leaves out zero: this is unlikely to be chance alone."
    return text + "The interval includes zero: the experiment cannot tell this from chance."
