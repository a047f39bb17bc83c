"""The snapshot engine (metrics.analytics.grouped) gives exactly what the plain pandas definitions give.

``reference_snapshots`` is the straightforward implementation (one ``groupby`` per metric, scope and
period) built from the documented per-metric functions; ``metric_snapshots`` must agree with it row
for row on random organizations with bots, people in several teams or none, unknown spans, nested
teams, repository-owned PRs and deployments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.analytics import catalog, delivery, flow
from metrics.analytics.grouped import Grouping, rows_by_label, stable_order
from metrics.analytics.snapshots import (
    OUTPUT_COLUMNS,
    SPAN_METRICS,
    _prepare,
    assign_teams,
    delivery_snapshots,
    metric_snapshots,
)
from tests.analytics import reference_metrics as reference


def period_start(at: pd.Series, period: str) -> pd.Series:
    """The Monday (week) or the first day (month) of the UTC date, as a date (the plain definition)."""
    day = at.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    if period == "week":
        start = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    else:
        start = day - pd.to_timedelta(day.dt.day - 1, unit="D")
    return start.dt.date


KEYS = ["scope", "period", "team_id", "repository_id", "person_id", "period_start", "metric"]


def _breakdown_reference(people: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """phase_mean_*: plain means over the PRs with the cycle time and all four timeline phases known."""
    timeline = [catalog.PHASE[key].column for key in catalog.TIMELINE]
    known = people.dropna(subset=["cycle_hours", *timeline]).assign(
        draft_hours=lambda f: f["cycle_hours"] - f[timeline].sum(axis=1)
    )
    out = []
    for key in (*catalog.BREAKDOWN, "cycle"):
        out.append(
            known.groupby(by, observed=True)[f"{key}_hours"]
            .agg(value="mean", n="size")
            .reset_index()
            .assign(metric=f"phase_mean_{key}")
        )
    return pd.concat(out, ignore_index=True)


def _metrics_for(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    people = frame[~frame["is_bot"]]
    parts = [reference.span_quantiles(people, column, by, metric) for column, metric in SPAN_METRICS.items()]
    parts.append(_breakdown_reference(people, by))
    parts += [
        reference.throughput(people, by),
        reference.revert_rate(people, by).assign(metric="revert_rate"),
        people.groupby(by, observed=True)["ai_assisted"]
        .agg(value="mean", n="size")
        .reset_index()
        .assign(metric="ai_assisted_share"),
        frame[frame["is_bot"]]
        .groupby(by, observed=True)
        .size()
        .rename("n")
        .reset_index()
        .assign(metric="bot_merged_prs", value=lambda f: f["n"].astype(float)),
    ]
    return pd.concat([p for p in parts if not p.empty], ignore_index=True)


def _delivery_reference(merged: pd.DataFrame, deployments: pd.DataFrame) -> list[pd.DataFrame]:
    """DORA's keys: one groupby per metric, scope and period over ``delivery.outcomes``."""
    deploys, lead = delivery.outcomes(deployments, None, merged)
    parts = []
    for period in ("week", "month"):
        keyed = deploys.assign(period_start=period_start(deploys["at"], period))
        shipped = lead.assign(period_start=period_start(lead["at"], period))
        for scope, by in (
            ("organization", ["period_start"]),
            ("repository", ["repository_id", "period_start"]),
        ):
            grouped = keyed.groupby(by, observed=True)
            ok = keyed[keyed["ok"]].groupby(by, observed=True)
            found = [
                grouped["ok"].agg(value="sum", n="sum").reset_index().assign(metric="deployment_frequency"),
                grouped["failed"]
                .agg(value="mean", n="size")
                .reset_index()
                .assign(metric="change_failure_rate"),
                ok["rework"]
                .agg(value="mean", n="size")
                .reset_index()
                .assign(metric="deployment_rework_rate"),
            ]
            for column, family, names, frame in (
                ("recovery_hours", "failed_deployment_recovery_time", catalog.RECOVERY_QUANTILES, keyed),
                ("lead_hours", "lead_time_for_changes", catalog.QUANTILES, shipped),
            ):
                wide = flow.grouped_quantiles(frame, column, by)
                found += [
                    wide.rename(columns={q: "value"})[[*by, "value", "n"]].assign(metric=f"{family}_{q}")
                    for q in names
                ]
            parts += [f.assign(scope=scope, period=period) for f in found if not f.empty]
    return parts


def reference_snapshots(prs, memberships, teams, deployments=None) -> pd.DataFrame:
    merged = _prepare(prs, deployments)
    by_team = merged.merge(assign_teams(merged, memberships, teams), on="id")
    parts = []
    for period in ("week", "month"):
        keyed = merged.assign(period_start=period_start(merged["merged_at"], period))
        team_keyed = by_team.assign(period_start=period_start(by_team["merged_at"], period))
        parts += [
            _metrics_for(keyed, ["period_start"]).assign(scope="organization", period=period),
            _metrics_for(keyed, ["repository_id", "period_start"]).assign(scope="repository", period=period),
        ]
        if not team_keyed.empty:
            parts.append(
                _metrics_for(team_keyed, ["team_id", "period_start"]).assign(scope="team", period=period)
            )
    people = keyed.assign(person_id=keyed["author_id"]).dropna(subset=["person_id"])
    parts.append(_metrics_for(people, ["person_id", "period_start"]).assign(scope="person", period="month"))
    if deployments is not None and not deployments.empty:
        parts += _delivery_reference(merged, deployments)
    out = pd.concat(parts, ignore_index=True)
    for column in ("team_id", "repository_id", "person_id"):
        if column not in out:
            out[column] = pd.NA
        out[column] = out[column].astype("Int64")
    out["n"] = out["n"].astype(int)
    return out[OUTPUT_COLUMNS]


def organization(seed: int, n: int = 600):
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    created = start + pd.to_timedelta(rng.uniform(0, 120, n), unit="D")

    def maybe(series: pd.Series, p: float) -> pd.Series:
        return series.where(rng.random(n) > p)

    hours = lambda scale: pd.to_timedelta(rng.normal(scale, scale, n), unit="h")  # noqa: E731 (some negative)
    prs = pd.DataFrame(
        {
            "id": rng.permutation(np.arange(10_000, 10_000 + n)),
            "repository_id": rng.integers(1, 6, n),
            "author_id": pd.array(rng.integers(1, 30, n), dtype="Int64"),
            "state": rng.choice(["merged", "merged", "merged", "open", "closed"], n),
            "is_bot": rng.random(n) < 0.1,
            "ai_assisted": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
            "first_commit_at": maybe(created - hours(20), 0.1),
            "created_at": created,
            "ready_at": maybe(created + hours(3), 0.5),
            "first_review_at": maybe(created + hours(8), 0.3),
            "approved_at": maybe(created + hours(12), 0.3),
            "additions": rng.integers(0, 400, n),
            "deletions": rng.integers(0, 100, n),
            "repository_team_id": pd.array(rng.choice([None, 1, 4], n), dtype="Int64"),
        }
    )
    prs["merged_at"] = maybe(created + pd.to_timedelta(rng.exponential(40, n), unit="h"), 0.05)
    prs["reverted_at"] = maybe(prs["merged_at"] + hours(30), 0.9)
    prs.loc[rng.random(n) < 0.03, "author_id"] = pd.NA
    teams = pd.DataFrame({"team_id": [1, 2, 3, 4, 5, 6], "parent_id": [None, 1, 1, 2, None, 5]})
    person = rng.integers(1, 30, 40)
    members = pd.DataFrame(
        {
            "person_id": person,
            "team_id": rng.integers(2, 7, 40),
            "start": pd.to_datetime(
                np.where(rng.random(40) < 0.3, start + pd.Timedelta(days=40), pd.NaT), utc=True
            ),
            "end": pd.to_datetime(
                np.where(rng.random(40) < 0.2, start + pd.Timedelta(days=80), pd.NaT), utc=True
            ),
        }
    )
    deploy_at = start + pd.to_timedelta(rng.uniform(0, 130, 80), unit="D")
    deployments = pd.DataFrame(
        {
            "repository_id": rng.integers(1, 6, 80),
            "created_at": deploy_at,
            "status": rng.choice(["success", "success", "failure", "error", "pending"], 80),
            "is_production": rng.random(80) < 0.8,
        }
    )
    return prs, members, teams, deployments


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype({"scope": str, "period": str, "metric": str, "period_start": object})
    return out.sort_values(KEYS).reset_index(drop=True)


@pytest.mark.parametrize("seed", range(8))
def test_engine_equals_the_pandas_definitions(seed: int) -> None:
    prs, members, teams, deployments = organization(seed)
    ours = _sorted(metric_snapshots(prs, members, teams, deployments))
    theirs = _sorted(reference_snapshots(prs, members, teams, deployments))
    assert len(ours) == len(theirs) > 1000
    pd.testing.assert_frame_equal(ours[[*KEYS, "n"]], theirs[[*KEYS, "n"]], check_dtype=False)
    np.testing.assert_allclose(ours["value"].to_numpy(float), theirs["value"].to_numpy(float), rtol=1e-12)
    assert set(ours["scope"]) == {"organization", "team", "repository", "person"}
    assert "change_failure_rate" in set(ours["metric"])


def test_engine_without_teams_or_deployments() -> None:
    prs, members, teams, _ = organization(99, n=50)
    ours = _sorted(metric_snapshots(prs, members.iloc[0:0], teams))
    theirs = _sorted(reference_snapshots(prs, members.iloc[0:0], teams))
    pd.testing.assert_frame_equal(ours[[*KEYS, "n"]], theirs[[*KEYS, "n"]], check_dtype=False)


def test_stable_order_is_a_stable_sort_for_wide_codes() -> None:
    rng = np.random.default_rng(3)
    for ngroups in (5, 70_000, 5_000_000_000):
        codes = rng.integers(0, ngroups, 20_000)
        assert (stable_order(codes, ngroups) == np.argsort(codes, kind="stable")).all()


def test_grouping_quantiles_with_rows_in_several_groups() -> None:
    values = np.array([4.0, np.nan, 1.0, 3.0, 2.0])
    # row 0 in groups 0 and 1, row 2 in group 1, rows 3 and 4 in group 0, row 1 (NaN) in group 2
    grouping = Grouping(codes=[[0, 1, 1, 2, 0, 0]], ngroups=[4], size=5, rows=[0, 0, 2, 1, 3, 4])
    [(groups, q, n)] = grouping.quantiles(values, np.array([0.5, 0.9]))
    assert groups.tolist() == [0, 1] and n.tolist() == [3, 2]
    assert q[0].tolist() == pytest.approx([3.0, 3.8]) and q[1].tolist() == pytest.approx([2.5, 3.7])
    labels = np.array([7, 7, 8, 7, 9])
    [distinct] = grouping.distinct(labels, rows_by_label(labels, np.ones(5, bool)))
    assert distinct.tolist() == [2, 2, 1, 0]


@pytest.mark.parametrize("several", [True, False])
def test_grouping_sums_equal_a_plain_count_per_group(several: bool) -> None:
    """``sums`` over the memberships as stored (base-row order, int32 codes, ``-1`` for none) equals
    counting and adding up each membership one by one."""
    rng = np.random.default_rng(5)
    size, ngroups = 500, 40
    rows = rng.integers(0, size, 1_200) if several else np.arange(size)
    codings = [rng.integers(-1, ngroups, len(rows)), rng.integers(-1, ngroups // 4, len(rows))]
    grouping = Grouping(
        codes=codings, ngroups=[ngroups, ngroups // 4], size=size, rows=rows if several else None
    )
    mask, weights = rng.random(size) < 0.7, rng.random(size)
    both = (codings[0] >= 0) & (codings[1] >= 0)  # a membership counts when every coding has a group
    for k, (counted, summed) in enumerate(
        zip(grouping.sums(mask), grouping.sums(mask, weights), strict=True)
    ):
        plain_n, plain_w = np.zeros(grouping.ngroups[k]), np.zeros(grouping.ngroups[k])
        for row, code, keep in zip(rows, codings[k], both, strict=True):
            if keep and mask[row]:
                plain_n[code] += 1
                plain_w[code] += weights[row]
        assert counted.tolist() == plain_n.tolist() and plain_n.sum() > 100
        np.testing.assert_allclose(summed, plain_w, rtol=1e-12)


def test_delivery_snapshots_are_the_engines_delivery_rows() -> None:
    prs, members, teams, deployments = organization(5)
    deployments = deployments.assign(repository_team_id=pd.array([1, 4, None, 2, 3] * 16, dtype="Int64"))
    everything = _sorted(metric_snapshots(prs, members, teams, deployments))
    delivery_rows = everything[everything["metric"].isin(catalog.DELIVERY)].reset_index(drop=True)
    alone = _sorted(delivery_snapshots(prs, teams, deployments))
    assert len(alone) > 100 and set(alone["scope"]) == {"organization", "team", "repository"}
    pd.testing.assert_frame_equal(alone, delivery_rows, check_dtype=False, check_categorical=False)
