"""Validation of the delivery AI split's adjusted comparison on planted truths with confounding.

Each seed plants 24 repositories over 6 months.  Repositories differ in their base failure probability
and base lead time, and the ones that fail more (and are slower) also adopt AI more; deployments that
ship more PRs fail more and are more often AI-assisted; larger PRs take longer and are more often
AI-assisted.  So the naive AI-vs-rest difference is biased, and the adjusted one (repository and month
fixed effects, log PRs shipped / log size, errors clustered by repository) must cover the truth in at
least 90% of 100 seeds, and a true zero must be significant about 5% of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.analytics import delivery

pytestmark = pytest.mark.statistical
SEEDS = range(100)
T0 = pd.Timestamp("2025-01-01", tz="UTC")


def planted(seed: int, cfr_effect: float, lead_effect: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    repos, n = 24, 720
    base = rng.uniform(0.05, 0.30, repos)  # base failure probability
    slow = rng.normal(3.0, 0.5, repos)  # base log lead hours
    adoption = 0.15 + 1.6 * (base - 0.05)  # failing repositories adopt AI more: confounding
    repo = rng.integers(0, repos, n)
    prs = 1 + rng.poisson(2.0, n)
    ai = rng.random(n) < 1 - (1 - adoption[repo]) ** prs  # more PRs: more likely one is AI-assisted
    at = T0 + pd.to_timedelta(rng.uniform(0, 180, n), unit="D")
    p = base[repo] + 0.04 * np.log1p(prs) + cfr_effect * ai
    deploys = pd.DataFrame(
        {"failed": rng.random(n) < p, "ai": ai, "prs": prs, "repository_id": repo, "at": at, "ok": True}
    )
    m = 1500
    lead_repo = rng.integers(0, repos, m)
    size = rng.lognormal(4.0, 1.0, m)
    lead_ai = rng.random(m) < np.clip(adoption[lead_repo] + 0.05 * np.log(size), 0, 1)
    log_lead = slow[lead_repo] + 0.2 * np.log(size) + np.log1p(lead_effect) * lead_ai + rng.normal(0, 0.8, m)
    lead = pd.DataFrame(
        {
            "lead_hours": np.exp(log_lead),
            "ai": lead_ai,
            "repository_id": lead_repo,
            "at": T0 + pd.to_timedelta(rng.uniform(0, 180, m), unit="D"),
            "size_lines": size,
        }
    )
    return deploys, lead


def runs(cfr_effect: float, lead_effect: float) -> list[dict[str, delivery.SplitRow]]:
    out = []
    for seed in SEEDS:
        found = delivery.adjusted_split(*planted(seed, cfr_effect, lead_effect))
        out.append({row.key: row for row in found})
    return out


def covers(row: delivery.SplitRow, truth: float) -> bool:
    assert row.status == "ok" and row.ci_low is not None and row.ci_high is not None, row
    return row.ci_low <= truth <= row.ci_high


def test_adjusted_interval_covers_the_planted_effects() -> None:
    found = runs(0.06, -0.25)  # +6 percentage points of failures, 25% shorter lead time
    cfr = np.mean([covers(r["change_failure_rate"], 6.0) for r in found])
    lead = np.mean([covers(r["lead_time_for_changes"], -25.0) for r in found])
    assert cfr >= 0.9, cfr
    assert lead >= 0.9, lead
    mean_cfr = np.mean([r["change_failure_rate"].value for r in found])
    assert abs(mean_cfr - 6.0) < 1.5, mean_cfr  # unbiased on average


def test_the_naive_difference_is_confounded() -> None:
    deploys, _ = planted(0, 0.0, 0.0)
    naive = deploys.loc[deploys["ai"], "failed"].mean() - deploys.loc[~deploys["ai"], "failed"].mean()
    assert naive > 0.03  # AI looks worse with no effect at all: the reason for the adjusted comparison


def test_a_true_zero_is_rarely_significant() -> None:
    found = runs(0.0, 0.0)
    cfr = np.mean([not covers(r["change_failure_rate"], 0.0) for r in found])
    lead = np.mean([not covers(r["lead_time_for_changes"], 0.0) for r in found])
    assert cfr <= 0.1, cfr  # nominal 5%
    assert lead <= 0.1, lead


def test_too_few_deployments_is_not_enough_data() -> None:
    deploys, lead = planted(1, 0.05, 0.0)
    found = {r.key: r for r in delivery.adjusted_split(deploys.head(40), lead.head(40))}
    assert found["change_failure_rate"].status == "not enough data"
    assert found["change_failure_rate"].value is None and found["lead_time_for_changes"].value is None
