"""Validation: across seeds, the adjusted interval covers the planted truth; the naive one is biased."""

from __future__ import annotations

import numpy as np

from metrics.analytics import ai_impact
from tests.analytics.synthetic import synthetic_prs

SEEDS = range(100)  # 40 seeds left coverage at the mercy of chance (0.90 seen); 100 gave 0.94


def estimates(effect: float, revert_effect: float) -> list[tuple[ai_impact.Estimate, ...]]:
    out = []
    for seed in SEEDS:
        model = ai_impact.prepare(synthetic_prs(seed, effect=effect, revert_effect=revert_effect))
        cycle, revert = ai_impact.adjusted_effects(model)
        naive_cycle, _ = ai_impact.naive_effects(model)
        out.append((cycle, revert, naive_cycle))
    return out


def covers(e: ai_impact.Estimate, truth: float) -> bool:
    assert e.status == "ok" and e.ci_low is not None and e.ci_high is not None
    return e.ci_low <= truth <= e.ci_high


def test_adjusted_interval_covers_the_planted_effect_and_naive_is_biased() -> None:
    runs = estimates(-0.2, -0.02)
    cycle_coverage = np.mean([covers(c, -20.0) for c, _, _ in runs])
    revert_coverage = np.mean([covers(r, -2.0) for _, r, _ in runs])
    assert cycle_coverage >= 0.9, cycle_coverage
    assert revert_coverage >= 0.9, revert_coverage
    adjusted = np.mean([c.estimate for c, _, _ in runs])
    naive = np.mean([n.estimate for _, _, n in runs])
    assert abs(adjusted - -20.0) < 2.0  # unbiased on average
    assert naive < -35.0  # confounded: smaller PRs and faster early adopters make AI look better
    assert np.mean([covers(n, -20.0) for _, _, n in runs]) < 0.2


def test_a_true_zero_effect_is_rarely_significant() -> None:
    runs = estimates(0.0, 0.0)
    significant = np.mean([not covers(c, 0.0) for c, _, _ in runs])
    assert significant <= 0.1, significant  # nominal 5% (0.06 seen)
    assert np.mean([not covers(r, 0.0) for _, r, _ in runs]) <= 0.1
