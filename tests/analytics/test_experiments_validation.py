"""Planted truths for the experiment estimators (metrics/analytics/experiments.py), >= 100 seeds each.

Each simulated organization has teams whose people differ (team and person effects, PR volumes), and
self-selection: slower people are keener to use the tool, so comparing users with non-users is biased.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.analytics import experiments as ex
from metrics.analytics.experiment_power import power_table

pytestmark = pytest.mark.statistical


def _org(rng: np.random.Generator, teams: int = 24, size: int = 8) -> dict[str, np.ndarray]:
    n = teams * size
    team = np.repeat(np.arange(teams), size)
    team_effect = rng.normal(0, 0.3, teams)[team]
    person = rng.normal(0, 0.4, n)
    rate = rng.gamma(3.0, 0.5, n)  # PRs per week, uneven
    return {"team": team, "base": 3.0 + team_effect + person, "person": person, "rate": rate}


def _window_cycle(rng: np.random.Generator, org: dict, weeks: int, shift: np.ndarray) -> np.ndarray:
    """Each person's mean log cycle over ``weeks`` (NaN without PRs): PR noise averages over their PRs."""
    count = rng.poisson(org["rate"] * weeks)
    noise = rng.normal(0, 1.0, len(count)) / np.sqrt(np.maximum(count, 1))
    return np.where(count > 0, org["base"] + shift + noise, np.nan)


def _strata(org: dict, rng: np.random.Generator) -> np.ndarray:
    baseline = _window_cycle(rng, org, 12, np.zeros(len(org["team"])))
    frame = pd.DataFrame({"unit_id": np.arange(len(baseline)), "team_id": org["team"], "baseline": baseline})
    return ex.strata_for(frame, by_team=True).to_numpy()


def _assign(strata: np.ndarray, seed: int) -> np.ndarray:
    units = pd.DataFrame({"unit_id": np.arange(len(strata)), "stratum": strata})
    return ex.assign(units, seed=seed)["arm"].to_numpy().astype(float)


def test_randomized_rollout_itt_covers_the_truth() -> None:
    """Person randomization (stratified, heterogeneous effects, everyone assigned uses the tool) and team
    randomization (team-level effects, clustered by team): ITT intervals cover the truth >= 90%."""
    truth = -0.15
    for unit in ("person", "team"):
        covered, estimates = 0, []
        for seed in range(150):
            rng = np.random.default_rng(seed)
            org = _org(rng)
            n = len(org["team"])
            if unit == "person":
                strata = _strata(org, rng)
                z = _assign(strata, seed)
                clusters = np.arange(n)
                effect = truth + rng.normal(0, 0.1, n)
            else:
                teams = pd.DataFrame({"unit_id": np.arange(24), "stratum": "all"})
                z = ex.assign(teams, seed=seed)["arm"].to_numpy().astype(float)[org["team"]]
                clusters, strata = org["team"], None
                effect = truth + rng.normal(0, 0.1, 24)[org["team"]]
            y = _window_cycle(rng, org, 8, effect * z)
            result = ex.itt("cycle_time", y, z, clusters, strata)
            # The estimand: the average effect in this sample's people who had PRs.
            sample_truth = float(np.mean(effect[~np.isnan(y)]))
            covered += result.ci_low <= sample_truth <= result.ci_high
            estimates.append(result.estimate - sample_truth)
        assert covered / 150 >= 0.90, (unit, covered)
        assert abs(np.mean(estimates)) < 0.03, (unit, np.mean(estimates))


def test_partial_compliance_iv_recovers_the_effect_on_users() -> None:
    """Some assigned people never use the tool, some controls use it anyway, and the keen (who are also
    slower) use it more: as-treated comparisons are biased, ITT is diluted, 2SLS recovers the effect on
    the people the assignment moved (compliers)."""
    covered, errors, naive_errors, diluted = 0, [], [], 0
    for seed in range(150):
        rng = np.random.default_rng(1000 + seed)
        org = _org(rng)
        n = len(org["team"])
        strata = _strata(org, rng)
        z = _assign(strata, seed)
        keen = rng.normal(0, 1, n) + 2 * org["person"]
        latent = rng.uniform(size=n)
        uses_if_assigned = latent < 1 / (1 + np.exp(-(0.8 + keen)))
        uses_anyway = latent < 1 / (1 + np.exp(-(-2.0 + keen)))
        d = np.where(z == 1, uses_if_assigned, uses_anyway).astype(float)
        effect = -0.25 + 0.05 * keen
        y = _window_cycle(rng, org, 8, effect * d)
        compliers = uses_if_assigned & ~uses_anyway & ~np.isnan(y)
        truth = float(effect[compliers].mean())
        result = ex.iv("cycle_time", y, d, z, np.arange(n), strata)
        assert result.status == "ok"
        covered += result.ci_low <= truth <= result.ci_high
        errors.append(result.estimate - truth)
        has = ~np.isnan(y)
        naive_errors.append(y[has & (d == 1)].mean() - y[has & (d == 0)].mean() - truth)
        diluted += abs(ex.itt("cycle_time", y, z, np.arange(n), strata).estimate) < abs(truth)
    assert covered / 150 >= 0.90, covered
    assert abs(np.mean(errors)) < 0.03, np.mean(errors)
    assert np.mean(naive_errors) > 0.1, np.mean(naive_errors)  # self-selection: users are the slow ones
    assert diluted / 150 > 0.8


WAVES = (6, 10, 14, 18)  # the last wave is the not-yet-treated comparison until week 18
PERIODS = 18


def _true_effect(wave: int, period: int) -> float:
    """Effects differ by wave and grow with time since the start."""
    e = period - wave
    return 0.0 if e < 0 else {6: -0.3, 10: -0.15, 14: -0.05, 18: 0.0}[wave] - 0.04 * e


def _staggered_org(rng: np.random.Generator, teams: int = 32, size: int = 5, null: bool = False) -> tuple:
    team_wave = np.array(WAVES)[
        ex.assign(
            pd.DataFrame({"unit_id": np.arange(teams), "stratum": "all"}),
            seed=int(rng.integers(1 << 30)),
            arms=4,
        )["arm"].to_numpy()
        - 1
    ]
    team = np.repeat(np.arange(teams), size)
    first = team_wave[team].astype(float)
    n = len(team)
    periods = np.arange(PERIODS)
    level = 3 + rng.normal(0, 0.3, teams)[team] + rng.normal(0, 0.3, n)
    trend = 0.2 * np.sin(periods / 3) - 0.01 * periods
    shocks = rng.normal(0, 0.1, (teams, PERIODS))[team]
    tau = np.array([[0.0 if null else _true_effect(int(f), int(t)) for t in periods] for f in team_wave])[
        team
    ]
    panel = level[:, None] + trend[None, :] + shocks + tau + rng.normal(0, 0.3, (n, PERIODS))
    panel[rng.uniform(size=panel.shape) < 0.1] = np.nan  # weeks without PRs
    return panel, first, team


def test_staggered_estimator_covers_where_two_way_fixed_effects_are_biased() -> None:
    covered, errors, twfe_errors = 0, [], []
    sizes = None
    for seed in range(120):
        rng = np.random.default_rng(5000 + seed)
        panel, first, team = _staggered_org(rng)
        result = ex.staggered("cycle_time", panel, first, team)
        post = [c for c in result.cells if c["period"] >= c["wave"]]
        sizes = {w: int((first == w).sum()) for w in WAVES}
        weights = np.array([sizes[c["wave"]] for c in post], float)
        truth = float(np.average([_true_effect(c["wave"], c["period"]) for c in post], weights=weights))
        covered += result.overall.ci_low <= truth <= result.overall.ci_high
        errors.append(result.overall.estimate - truth)
        twfe_errors.append(ex.twfe("cycle_time", panel, first, team).estimate - truth)
        # The event study: its pre-period effects are zero on average (checked in aggregate below).
    assert covered / 120 >= 0.90, covered
    assert abs(np.mean(errors)) < 0.02, np.mean(errors)
    # Two-way fixed effects compare late waves with early ones whose effects keep growing: visibly off.
    assert abs(np.mean(twfe_errors)) > 0.05, np.mean(twfe_errors)
    assert abs(np.mean(twfe_errors)) > 4 * abs(np.mean(errors))


def test_a_true_zero_is_significant_about_five_percent_of_the_time() -> None:
    itt_hits = iv_hits = stag_hits = 0
    runs = 300
    for seed in range(runs):
        rng = np.random.default_rng(9000 + seed)
        org = _org(rng)
        n = len(org["team"])
        strata = _strata(org, rng)
        z = _assign(strata, seed)
        d = np.where(z == 1, rng.uniform(size=n) < 0.8, rng.uniform(size=n) < 0.2).astype(float)
        y = _window_cycle(rng, org, 8, np.zeros(n))
        itt_hits += ex.itt("cycle_time", y, z, np.arange(n), strata).significant
        iv_hits += ex.iv("cycle_time", y, d, z, np.arange(n), strata).significant
        if seed < 150:
            panel, first, team = _staggered_org(rng, null=True)
            stag_hits += ex.staggered("cycle_time", panel, first, team).overall.significant
    assert 0.02 <= itt_hits / runs <= 0.085, itt_hits
    assert 0.02 <= iv_hits / runs <= 0.085, iv_hits
    assert stag_hits / 150 <= 0.09, stag_hits


def _history(rng: np.random.Generator, org: dict, weeks: int, end: pd.Timestamp) -> pd.DataFrame:
    """PR-level history: each person's PRs over ``weeks`` weeks before ``end``."""
    counts = rng.poisson(org["rate"] * weeks)
    author = np.repeat(np.arange(len(counts)), counts)
    offsets = rng.uniform(0, weeks * 7, len(author))
    return pd.DataFrame(
        {
            "author_id": author,
            "merged_at": end - pd.to_timedelta(offsets, unit="D"),
            "log_cycle": org["base"][author] + rng.normal(0, 1.0, len(author)),
            "reverted": (rng.uniform(size=len(author)) < 0.05).astype(float),
        }
    )


def test_power_analysis_at_the_reported_mde_is_about_eighty_percent_significant() -> None:
    """MDE from the organization's own history; then new experiments on the same people with the MDE
    planted: about 80% significant (cycle time and throughput)."""
    end = pd.Timestamp("2026-06-01", tz="UTC")
    shares = {"cycle_time": [], "throughput": []}
    for org_seed in range(8):  # each organization's MDE is itself an estimate from its history
        rng = np.random.default_rng(77 + org_seed)
        org = _org(rng)
        n = len(org["team"])
        prs = _history(rng, org, 30, end)
        units = pd.DataFrame({"person_id": np.arange(n), "team_id": org["team"]})
        table = power_table(prs, units, unit="person", end=end, durations=(8,), fractions=(1.0,))
        base = ex.person_outcomes(
            prs, units["person_id"], end - pd.Timedelta(weeks=20), end - pd.Timedelta(weeks=8)
        )
        frame = pd.DataFrame(
            {"unit_id": np.arange(n), "team_id": org["team"], "baseline": base["cycle_time"]}
        )
        strata = ex.strata_for(frame, by_team=True).to_numpy()
        mdes = {row["outcome"]: row["mde"] for row in table}
        hits = {"cycle_time": 0, "throughput": 0}
        runs = 150
        for seed in range(runs):
            z = _assign(strata, seed)
            y = _window_cycle(rng, org, 8, mdes["cycle_time"] * z)
            hits["cycle_time"] += ex.itt("cycle_time", y, z, np.arange(n), strata).significant
            throughput = rng.poisson(org["rate"] * 8) / 8 + mdes["throughput"] * z
            hits["throughput"] += ex.itt("throughput", throughput, z, np.arange(n), strata).significant
        for outcome in shares:
            shares[outcome].append(hits[outcome] / runs)
    for outcome, values in shares.items():
        assert 0.72 <= np.mean(values) <= 0.88, (outcome, values)
