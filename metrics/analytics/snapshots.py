"""All metric snapshots in long format, from PRs, memberships, the team tree and deployments.

Scopes: ``organization`` (everything), ``team`` (PRs whose author was in the team, or in any team
below it, when the PR merged; an author in no team counts for the repository's owning team),
``repository`` and ``person`` (monthly only; shown only to roles allowed to see it).  Periods: ISO
``week`` (starting Monday) and calendar ``month``, by merge date (deployment date for the change
failure rate).  Bots are excluded from every people metric and counted separately as ``bot_merged_prs``.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metrics.analytics import catalog, completeness, delivery, flow
from metrics.analytics.catalog import DEFINITION_VERSION as DEFINITION_VERSION  # re-exported
from metrics.analytics.grouped import Grouping, factorize_ids, rows_by_label, value_order
from metrics.analytics.snapshot_rows import OUTPUT_COLUMNS as OUTPUT_COLUMNS  # re-exported
from metrics.analytics.snapshot_rows import PERIODS, Rows
from metrics.analytics.team_tree import TeamTree, teams_at_event

# span column -> metric name prefix (each gives _p50, _p75, _p90)
SPAN_METRICS = {
    **{phase.column: phase.metric for phase in catalog.PHASES},
    "size_lines": "pr_size",
    "revert_hours": "time_to_revert",
}
METRICS = (
    *(f"{metric}_{q}" for metric in SPAN_METRICS.values() for q in flow.QUANTILES),
    "merged_prs",
    "throughput_per_engineer",
    "revert_rate",
    "ai_assisted_share",
    "bot_merged_prs",
    *(f"phase_mean_{key}" for key in (*catalog.BREAKDOWN, "cycle")),
    *catalog.DELIVERY,
)
PR_METRICS = tuple(m for m in METRICS if m not in catalog.DELIVERY)
"""The metrics of merge-dated cells: each cell's value depends only on the PRs merged in its period and
scope, so a change recomputes only its cells (``ingestion/incremental.py``); the delivery keys are dated
by deployment and recomputed with the organization-wide models."""


def team_ancestors(teams: pd.DataFrame) -> pd.DataFrame:
    """(team_id, rollup_team_id): every team with itself and each ancestor (``team_tree`` cuts loops)."""
    return TeamTree.from_frame(teams).with_ancestors()


def assign_teams(prs: pd.DataFrame, memberships: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """(pr id, team_id) for the team(s) the author belonged to at merge time, rolled up the tree.

    A PR whose author was in no team then counts for its repository's owning team
    (``repository_team_id``, when the column is there and set).
    """
    active = teams_at_event(prs, memberships)[["id", "team_id"]]
    if "repository_team_id" in prs:
        orphans = prs[~prs["id"].isin(active["id"]) & prs["repository_team_id"].notna()]
        owned = orphans[["id", "repository_team_id"]].rename(columns={"repository_team_id": "team_id"})
        active = pd.concat([active, owned.astype({"team_id": "int64"})], ignore_index=True)
    ancestors = team_ancestors(teams)
    rolled = active.merge(ancestors, on="team_id")
    pairs = rolled[["id", "rollup_team_id"]].rename(columns={"rollup_team_id": "team_id"})
    if active["id"].is_unique and not ancestors.duplicated().any():
        return pairs  # one team per PR, each team's ancestors listed once: no pair twice
    return pairs.drop_duplicates()


@dataclass(frozen=True)
class Observation:
    """The revert metrics' fixed observation window: a merge counts once ``merged_at + window`` is at or
    before ``through`` (the time the data runs through), and only a revert landing within the window
    counts, so a recent period is never flattered by reverts that have not happened yet."""

    through: pd.Timestamp
    window_days: int = completeness.DEFAULT_WINDOW_DAYS

    def closed(self, at: pd.Series) -> pd.Series:
        return at + pd.Timedelta(days=self.window_days) <= self.through

    def censor(self, merged: pd.DataFrame) -> pd.DataFrame:
        """``observed`` (the window closed) and ``reverted_at`` kept only for reverts inside the window."""
        window = pd.Timedelta(days=self.window_days)
        within = merged["reverted_at"].notna() & (merged["reverted_at"] - merged["merged_at"] <= window)
        return merged.assign(
            observed=self.closed(merged["merged_at"]), reverted_at=merged["reverted_at"].where(within)
        )


def _prepare(
    prs: pd.DataFrame, deployments: pd.DataFrame | None, observation: Observation | None = None
) -> pd.DataFrame:
    merging = (prs["state"] == "merged") & prs["merged_at"].notna()
    # Every PR merged (the full recompute reads only those): no copy (copy-on-write guards ``prs``).
    merged = prs if merging.all() else prs[merging]
    merged = merged.assign(observed=True) if observation is None else observation.censor(merged)
    merged = flow.phase_spans(merged).assign(
        is_bot=lambda f: f["is_bot"].astype(bool),
        ai_assisted=lambda f: f["ai_assisted"].astype(float),
        revert_hours=lambda f: flow.hours_between(f["merged_at"], f["reverted_at"]).where(f["observed"]),
    )
    if {"additions", "deletions"} <= set(merged.columns):
        merged["size_lines"] = flow.pr_size(merged)
    else:
        merged["size_lines"] = float("nan")
    if deployments is not None and "repository_id" in merged:
        merged["deploy_hours"] = flow.deploy_spans(merged, deployments)
    else:
        merged["deploy_hours"] = float("nan")
    return merged


def _period_codes(merged_at: pd.Series, period: str) -> tuple[np.ndarray, np.ndarray]:
    """(period code of each row, first day of each code as ``datetime64[D]``): ISO weeks or months."""
    naive = merged_at.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    if period == "week":
        days = naive.astype("datetime64[D]").astype(np.int64)
        mondays = days - (days + 3) % 7  # 1970-01-01 was a Thursday
        first = int(mondays.min())
        codes = (mondays - first) // 7
        starts = (first + 7 * np.arange(int(codes.max()) + 1)).astype("datetime64[D]")
    else:
        months = naive.astype("datetime64[M]").astype(np.int64)
        first = int(months.min())
        codes = months - first
        starts = (first + np.arange(int(codes.max()) + 1)).astype("datetime64[M]").astype("datetime64[D]")
    return codes, starts


def period_starts(at: pd.Series, period: str) -> pd.Series:
    """The first day (``datetime.date``) of the ISO week or calendar month of each UTC moment: the
    period :func:`_period_codes` puts it in (the incremental recompute finds a change's cells with it)."""
    days = at.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    if period == "week":
        starts = days - pd.to_timedelta(days.dt.weekday, unit="D")
    else:
        starts = days - pd.to_timedelta(days.dt.day - 1, unit="D")
    return starts.dt.date


@dataclass
class _Scope:
    """One scope's grouping, with one coding per period; group ``code`` of coding ``k`` is the key
    ``keys[code // P]`` (none for the organization) and the period ``periods[k]`` starting on
    ``starts[k][code % P]``, P = ``len(starts[k])``."""

    scope: str
    grouping: Grouping
    keys: np.ndarray | None
    periods: list[str]
    starts: list[np.ndarray]


def _coded(
    key: np.ndarray | None,
    nkeys: int,
    periods: list[tuple[np.ndarray, np.ndarray]],
    size: int,
    rows: np.ndarray | None = None,
) -> Grouping:
    """A key (None: the organization) crossed with each period: one coding per period."""
    if key is None:
        return Grouping([codes for codes, _ in periods], [len(starts) for _, starts in periods], size, rows)
    return Grouping(
        [np.where(key >= 0, key * len(starts) + codes, -1) for codes, starts in periods],
        [nkeys * len(starts) for _, starts in periods],
        size,
        rows,
    )


def _by_date(frame: pd.DataFrame, at: str) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[_Scope]]:
    """Week and month codes of ``frame[at]``, and the organization and repository scopes over them."""
    size = len(frame)
    both = [_period_codes(frame[at], "week"), _period_codes(frame[at], "month")]
    starts = [s for _, s in both]
    repo_codes, repo_keys = factorize_ids(frame["repository_id"])
    return both, [
        _Scope("organization", _coded(None, 1, both, size), None, list(PERIODS), starts),
        _Scope(
            "repository", _coded(repo_codes, len(repo_keys), both, size), repo_keys, list(PERIODS), starts
        ),
    ]


def _scopes(merged: pd.DataFrame, memberships: pd.DataFrame, teams: pd.DataFrame) -> list[_Scope]:
    size = len(merged)
    both, out = _by_date(merged, "merged_at")
    starts = [s for _, s in both]
    person_codes, person_keys = factorize_ids(merged["author_id"])
    out.append(
        _Scope(
            "person",
            _coded(person_codes, len(person_keys), both[1:], size),
            person_keys,
            ["month"],
            starts[1:],
        )
    )
    pairs = assign_teams(merged, memberships, teams)
    if len(pairs):
        rows = pd.Index(merged["id"]).get_indexer(pairs["id"])
        team_codes, team_keys = factorize_ids(pairs["team_id"])
        at_rows = [(codes[rows], s) for codes, s in both]
        team = _coded(team_codes, len(team_keys), at_rows, size, rows)
        out.insert(1, _Scope("team", team, team_keys, list(PERIODS), starts))
    return out


def _add(
    rows: Rows, scope: _Scope, k: int, metric: str, groups: np.ndarray, value: np.ndarray, n: np.ndarray
) -> None:
    """Rows of ``metric`` for the groups ``groups`` of the scope's coding ``k``."""
    rows.add(scope.scope, scope.periods[k], scope.keys, scope.starts[k], metric, groups, value, n)


def _scope_metrics(scope: _Scope, rows: Rows, columns: dict[str, Any]) -> None:
    """Every metric but the span quantiles for one scope (the quantiles are added by the caller)."""
    grouping = scope.grouping
    people, bots = ~columns["is_bot"], columns["is_bot"]
    observed = people & columns["observed"]
    known_ai = people & ~np.isnan(columns["ai"])
    results = zip(
        grouping.sums(people),
        grouping.distinct(columns["author"], columns["authors_by_label"]),
        grouping.sums(observed, columns["reverted"]),
        grouping.sums(observed),
        grouping.sums(known_ai, np.nan_to_num(columns["ai"])),
        grouping.sums(known_ai),
        grouping.sums(bots),
        strict=True,
    )
    for k, (prs, engineers, reverted, watched, ai_sum, ai_n, bot_prs) in enumerate(results):
        has = np.flatnonzero(prs)
        n = prs[has]
        _add(rows, scope, k, "merged_prs", has, n, n)
        engineers = engineers[has]
        _add(
            rows,
            scope,
            k,
            "throughput_per_engineer",
            has,
            np.where(engineers > 0, n / np.maximum(engineers, 1), np.nan),
            engineers,
        )
        seen = np.flatnonzero(watched)  # only merges whose observation window has closed
        _add(rows, scope, k, "revert_rate", seen, reverted[seen] / watched[seen], watched[seen])
        ai_n = ai_n[has]
        _add(
            rows,
            scope,
            k,
            "ai_assisted_share",
            has,
            np.where(ai_n > 0, ai_sum[has] / np.maximum(ai_n, 1), np.nan),
            n,
        )
        with_bots = np.flatnonzero(bot_prs)
        _add(rows, scope, k, "bot_merged_prs", with_bots, bot_prs[with_bots], bot_prs[with_bots])
    _breakdown_means(scope, rows, columns["breakdown"])


def _breakdown_means(scope: _Scope, rows: Rows, parts: dict[str, np.ndarray]) -> None:
    """``phase_mean_*``: the mean of each part over the PRs with every part known (``catalog.BREAKDOWN``),
    so the parts' means add up to those PRs' mean cycle time."""
    known = ~np.isnan(parts["cycle"])
    counts = scope.grouping.sums(known)
    sums = {key: scope.grouping.sums(known, np.nan_to_num(values)) for key, values in parts.items()}
    for k, count in enumerate(counts):
        has = np.flatnonzero(count)
        for key in parts:
            _add(rows, scope, k, f"phase_mean_{key}", has, sums[key][k][has] / count[has], count[has])


def breakdown_parts(merged: pd.DataFrame, is_bot: np.ndarray) -> dict[str, np.ndarray]:
    """Each ``catalog.BREAKDOWN`` part and the cycle time in hours, NaN unless the PR is a non-bot PR
    with the cycle time and every timeline phase known (draft = cycle minus the timeline phases)."""
    cycle = merged[catalog.PHASE["cycle"].column].to_numpy(dtype=float)
    timeline = {key: merged[catalog.PHASE[key].column].to_numpy(dtype=float) for key in catalog.TIMELINE}
    complete = ~is_bot & ~np.isnan(cycle)
    for values in timeline.values():
        complete &= ~np.isnan(values)
    parts = {**timeline, "draft": cycle - sum(timeline.values()), "cycle": cycle}
    return {key: np.where(complete, values, np.nan) for key, values in parts.items()}


def _deployment_scopes(frame: pd.DataFrame, teams: pd.DataFrame) -> list[_Scope]:
    """Organization, team (the repository's owning team and its ancestors) and repository scopes of
    deployment-dated rows (``at``, ``repository_id``, ``repository_team_id``)."""
    both, out = _by_date(frame, "at")
    owned = frame["repository_team_id"].astype("Int64")
    pairs = pd.DataFrame({"row": np.arange(len(frame)), "team_id": owned}).dropna()
    pairs = pairs.astype({"team_id": "int64"}).merge(team_ancestors(teams), on="team_id")
    if len(pairs):
        rows = pairs["row"].to_numpy()
        team_codes, team_keys = factorize_ids(pairs["rollup_team_id"])
        team = _coded(team_codes, len(team_keys), [(codes[rows], s) for codes, s in both], len(frame), rows)
        out.insert(1, _Scope("team", team, team_keys, list(PERIODS), [s for _, s in both]))
    return out


def _quantile_rows(
    scopes: list[_Scope], rows: Rows, values: np.ndarray, family: str, names: tuple[str, ...]
) -> None:
    qs = np.array([flow.QUANTILES[q] for q in names])
    order = value_order(values)
    if len(order) == 0:
        return
    for scope in scopes:
        for k, (groups, found, n) in enumerate(scope.grouping.quantiles(values, qs, order)):
            groups, n = groups.astype(np.int32), n.astype(np.int32)  # shared by the quantiles' rows
            for i, name in enumerate(names):
                _add(rows, scope, k, f"{family}_{name}", groups, found[:, i], n)


def _delivery(
    merged: pd.DataFrame,
    deployments: pd.DataFrame | None,
    incidents: pd.DataFrame | None,
    teams: pd.DataFrame,
    rows: Rows,
    observation: Observation | None,
) -> None:
    """DORA's five keys (``analytics/delivery.py``) by deployment date, per organization, team and
    repository; the change failure rate only over deployments whose observation window has closed."""
    if deployments is None or deployments.empty:
        return
    deploys, lead = delivery.outcomes(deployments, incidents, merged)
    if deploys.empty:
        return
    scopes = _deployment_scopes(deploys, teams)
    ok = deploys["ok"].to_numpy(dtype=bool)
    everyone = np.ones(len(deploys), dtype=bool)
    watched = everyone if observation is None else observation.closed(deploys["at"]).to_numpy(dtype=bool)
    failed = deploys["failed"].to_numpy(dtype=float)
    rework = deploys["rework"].to_numpy(dtype=float)
    for scope in scopes:
        g = scope.grouping
        for k, (count, oks, seen, fails, reworks) in enumerate(
            zip(
                g.sums(everyone),
                g.sums(ok),
                g.sums(watched),
                g.sums(watched, failed),
                g.sums(ok, rework),
                strict=True,
            )
        ):
            has = np.flatnonzero(count)
            _add(rows, scope, k, "deployment_frequency", has, oks[has], oks[has])
            has = np.flatnonzero(seen)
            _add(rows, scope, k, "change_failure_rate", has, fails[has] / seen[has], seen[has])
            has = np.flatnonzero(oks)
            _add(rows, scope, k, "deployment_rework_rate", has, reworks[has] / oks[has], oks[has])
    _quantile_rows(
        scopes,
        rows,
        deploys["recovery_hours"].to_numpy(dtype=float),
        "failed_deployment_recovery_time",
        catalog.RECOVERY_QUANTILES,
    )
    if len(lead):
        at_row = pd.Index(deploys["id"]).get_indexer(lead["deployment_id"])
        shipped = deploys.iloc[at_row][["at", "repository_id", "repository_team_id"]].reset_index(drop=True)
        _quantile_rows(
            _deployment_scopes(shipped, teams),
            rows,
            lead["lead_hours"].to_numpy(dtype=float),
            "lead_time_for_changes",
            catalog.QUANTILES,
        )


def metric_snapshots(
    prs: pd.DataFrame,
    memberships: pd.DataFrame,
    teams: pd.DataFrame,
    deployments: pd.DataFrame | None = None,
    observation: Observation | None = None,
    incidents: pd.DataFrame | None = None,
    *,
    delivery_keys: bool = True,
) -> pd.DataFrame:
    """Every snapshot row (without the delivery keys' rows when ``delivery_keys`` is false: the
    deployments then only give the PRs' deploy spans).

    ``observation``: the revert metrics' window (see :class:`Observation`); None counts every merge and
    every revert (the reference tests' plain definition).

    Input — prs: id, repository_id, author_id, state, is_bot, ai_assisted, first_commit_at,
    created_at, merged_at, reverted_at, and where known ready_at, first_review_at, approved_at,
    additions, deletions, repository_team_id; memberships: person_id, team_id, start, end;
    teams: team_id, parent_id; deployments (optional): repository_id, created_at, status,
    is_production, and where known id, sha, finished_at, repository_team_id; incidents (optional):
    started_at, resolved_at, deployment_id (the link, ``delivery.link_incidents``).  Output columns:
    ``OUTPUT_COLUMNS`` (the id columns are nullable integers; scope, period, metric and period_start (of
    ``datetime.date``) are categoricals; value is float, NaN when undefined; n is the count behind the
    value).

    Each metric is defined once, in pandas, by :func:`flow.span_quantiles`, :func:`flow.throughput`,
    :func:`quality.revert_rate` and the ``ai_assisted``/bot shares; this function computes the same
    numbers for every scope and period together with :mod:`metrics.analytics.grouped` (one sort per
    span instead of one per span and grouping).  ``tests/analytics/test_snapshot_engine.py`` holds
    the two to equality on random organizations.
    """
    return snapshot_rows(
        prs, memberships, teams, deployments, observation, incidents, delivery_keys=delivery_keys
    ).frame()


def snapshot_rows(
    prs: pd.DataFrame,
    memberships: pd.DataFrame,
    teams: pd.DataFrame,
    deployments: pd.DataFrame | None = None,
    observation: Observation | None = None,
    incidents: pd.DataFrame | None = None,
    *,
    delivery_keys: bool = True,
) -> Rows:
    """:func:`metric_snapshots`'s rows as compact blocks (``Rows``): ``.frame()`` gives the frame,
    ``.frames(size)`` the same rows a part at a time (the full recompute writes them so)."""
    merged = _prepare(prs, deployments, observation).reset_index(drop=True)
    rows = Rows(METRICS)
    if not merged.empty:
        _pr_metrics(merged, memberships, teams, rows)
    if delivery_keys:
        _delivery(merged, deployments, incidents, teams, rows, observation)
    return rows


def _pr_metrics(merged: pd.DataFrame, memberships: pd.DataFrame, teams: pd.DataFrame, rows: Rows) -> None:
    """Every merge-dated metric (``PR_METRICS``) of every scope into ``rows``."""
    is_bot = merged["is_bot"].to_numpy(dtype=bool)
    qs = np.array(list(flow.QUANTILES.values()))
    ready: Future[list[_Scope]] = Future()

    def span(column: str) -> list[tuple[_Scope, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]]:
        """One span's quantiles for every scope; only the small results outlive the task."""
        values = np.where(is_bot, np.nan, merged[column].to_numpy(dtype=float))
        order = value_order(values)
        scopes = ready.result()
        if len(order) == 0:
            return []
        return [(scope, scope.grouping.quantiles(values, qs, order)) for scope in scopes]

    # numpy's sorts, gathers and bincounts release the GIL: the spans are sorted and their quantiles
    # read on the other cores while this thread builds the groupings and the count metrics.  One task
    # per span, as many at a time as there are cores, so only that many spans' sorts are held at once.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        quantiles = [pool.submit(span, column) for column in SPAN_METRICS]
        try:
            author = factorize_ids(merged["author_id"])[0]
            scopes = _scopes(merged, memberships, teams)
        except BaseException as error:
            ready.set_exception(error)
            raise
        ready.set_result(scopes)
        columns = {
            "is_bot": is_bot,
            "author": author,
            "authors_by_label": rows_by_label(author, ~is_bot),
            "reverted": merged["reverted_at"].notna().to_numpy(dtype=float),
            "observed": merged["observed"].to_numpy(dtype=bool),
            "ai": merged["ai_assisted"].to_numpy(dtype=float),
            "breakdown": breakdown_parts(merged, is_bot),
        }
        for scope in scopes:
            _scope_metrics(scope, rows, columns)
        del columns
        for metric, future in zip(SPAN_METRICS.values(), quantiles, strict=True):
            for scope, codings in future.result():
                for k, (groups, values, n) in enumerate(codings):
                    groups, n = groups.astype(np.int32), n.astype(np.int32)  # shared by the rows
                    for i, name in enumerate(flow.QUANTILES):
                        _add(rows, scope, k, f"{metric}_{name}", groups, values[:, i], n)


def _delivery_prs(prs: pd.DataFrame, observation: Observation | None) -> pd.DataFrame:
    """The merged PRs the delivery keys read (reverts within the observation window only): what
    :func:`_prepare` gives them, without the spans they do not read."""
    merged = prs[(prs["state"] == "merged") & prs["merged_at"].notna()]
    merged = merged.assign(observed=True) if observation is None else observation.censor(merged)
    return merged.reset_index(drop=True)


def delivery_snapshots(
    prs: pd.DataFrame,
    teams: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame | None = None,
    observation: Observation | None = None,
) -> pd.DataFrame:
    """Only the delivery keys' snapshot rows (what :func:`metric_snapshots` adds for them), for the
    benchmark and for checks."""
    merged = _delivery_prs(prs, observation)
    rows = Rows(METRICS)
    _delivery(merged, deployments, incidents, teams, rows, observation)
    return rows.frame()


def delivery_outcomes(
    prs: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame | None = None,
    observation: Observation | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``delivery.outcomes`` over the same PRs as the snapshots (reverts within the window)."""
    merged = _delivery_prs(prs, observation)
    return delivery.outcomes(deployments, incidents, merged)


def delivery_split(
    prs: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame | None = None,
    observation: Observation | None = None,
) -> list[delivery.SplitRow]:
    """The organization's delivery keys for AI-assisted deployments and the rest, and the adjusted
    comparison (``delivery.ai_split``), from the same prepared PRs as the snapshots."""
    deploys, lead = delivery_outcomes(prs, deployments, incidents, observation)
    if observation is None:
        return delivery.ai_split(deploys, lead)
    return delivery.ai_split(deploys, lead, through=observation.through, window_days=observation.window_days)


def primary_teams(prs: pd.DataFrame, memberships: pd.DataFrame) -> pd.DataFrame:
    """(id, team_id): the one team the author was in at merge time (the most recently joined)."""
    active = teams_at_event(prs, memberships)
    latest = active.sort_values("start", na_position="first").drop_duplicates("id", keep="last")
    return latest[["id", "team_id"]]
