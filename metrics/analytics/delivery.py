"""Delivery: DORA's five keys from deployments, incidents and the PRs the deployments shipped.

The rules live here, once (pure pandas, no Django):

- a *production deployment* is a deployment to a production environment whose status is known
  (success, failure or error); it is *successful* when its status is success; its moment is when it
  finished (else when it was created);
- an incident is linked to the deployment that caused it (:func:`link_incidents`): the deployment the
  source named, else the first production deployment of the commit it named, else the last successful
  production deployment of its repository at or before it started, else none;
- a successful production deployment *ships* the repository's PRs merged after the previous successful
  production deployment and at or before it (:func:`shipped`: the same rule as the catalog's deploy
  phase: a PR is shipped by the first successful production deployment at or after its merge);
- a deployment is *rework* (unplanned, fixing production) when it is a rollback (it deploys a commit an
  earlier production deployment of the repository deployed, other than the one just before it) or ships
  a hotfix (head branch ``hotfix/...`` or a ``hotfix`` label) or a revert;
- a production deployment *failed* when its status is failure or error, an incident is linked to it, the
  next production deployment of its repository is rework, or it shipped a PR reverted within the
  observation window;
- a failed deployment *recovers* when its last linked incident is resolved, else at the next successful
  production deployment of its repository (the rollback, hotfix or redeploy that replaced it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics.analytics import ai_impact
from metrics.analytics.flow import hours_between

PRODUCTION_STATUSES = ("success", "failure", "error")
HOTFIX_PREFIXES = ("hotfix/", "hotfix-", "hotfix_")
SHA_MIN = 7  # a commit named by fewer characters links nothing (ambiguous)

LINK_RULE = (
    "An incident is linked to the deployment its source names; else to the first production deployment "
    "of the commit it names; else to the last successful production deployment of its repository (or of "
    "the repository its service is mapped to) at or before the incident started; else to none."
)


def _ns(at: pd.Series) -> pd.Series:
    """UTC nanosecond timestamps (frames from the database and from files differ in unit)."""
    return pd.to_datetime(at, utc=True).astype("datetime64[ns, UTC]")


def production(deployments: pd.DataFrame) -> pd.DataFrame:
    """Production deployments with a known outcome, with ``at`` (finished, else created) and ``ok``."""
    prod = deployments[
        deployments["is_production"].astype(bool) & deployments["status"].isin(PRODUCTION_STATUSES)
    ].copy()
    finished = prod["finished_at"] if "finished_at" in prod else prod["created_at"]
    prod["at"] = _ns(finished.fillna(prod["created_at"]))
    prod["ok"] = prod["status"] == "success"
    return prod.sort_values(["at", "id"], kind="stable")


def link_incidents(incidents: pd.DataFrame, deployments: pd.DataFrame) -> pd.DataFrame:
    """The deployment (``deployment_id``, nullable) and the rule (``link``) of each incident.

    Input — incidents: id, repository_id (nullable), started_at, deployment_ref, sha; deployments: id,
    repository_id, external_id, sha, created_at, finished_at, status, is_production.
    Output: id, deployment_id, link (``explicit`` | ``sha`` | ``last_before`` | ``none``).
    """
    size = len(incidents)
    found = np.full(size, -1, dtype=np.int64)
    link = np.full(size, "none", dtype=object)
    if size and len(deployments):
        repo = incidents["repository_id"].astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
        _named(incidents, deployments, repo, found, link)
        _by_sha(incidents, production(deployments), repo, found, link)
        _last_before(incidents, production(deployments), repo, found, link)
    ids = pd.Series(found, dtype="Int64").where(found >= 0)
    return pd.DataFrame({"id": incidents["id"].to_numpy(), "deployment_id": ids.array, "link": link})


def _named(
    incidents: pd.DataFrame, deployments: pd.DataFrame, repo: np.ndarray, found: np.ndarray, link: np.ndarray
) -> None:
    """1. the deployment the source named (within the incident's repository when it is known)."""
    named = incidents["deployment_ref"].fillna("").astype(str).to_numpy()
    by_ref = deployments.sort_values("id").drop_duplicates(["repository_id", "external_id"])
    in_repo = dict(
        zip(zip(by_ref["repository_id"], by_ref["external_id"], strict=True), by_ref["id"], strict=True)
    )
    anywhere = dict(zip(by_ref["external_id"], by_ref["id"], strict=True))
    for i in np.flatnonzero(named != ""):
        hit = in_repo.get((repo[i], named[i])) if repo[i] >= 0 else anywhere.get(named[i])
        if hit is not None:
            found[i], link[i] = int(hit), "explicit"


def _by_sha(
    incidents: pd.DataFrame, prod: pd.DataFrame, repo: np.ndarray, found: np.ndarray, link: np.ndarray
) -> None:
    """2. the first production deployment of the commit it named (a prefix of at least ``SHA_MIN``)."""
    shas = incidents["sha"].fillna("").astype(str).str.lower().to_numpy()
    prod_sha = prod["sha"].fillna("").astype(str).str.lower().to_numpy()
    prod_repo, prod_id = prod["repository_id"].to_numpy(), prod["id"].to_numpy()
    for i in np.flatnonzero((link == "none") & (np.char.str_len(shas.astype(str)) >= SHA_MIN)):
        hits = np.char.startswith(prod_sha.astype(str), shas[i])
        if repo[i] >= 0:
            hits &= prod_repo == repo[i]
        if hits.any():
            found[i], link[i] = int(prod_id[np.argmax(hits)]), "sha"


def _last_before(
    incidents: pd.DataFrame, prod: pd.DataFrame, repo: np.ndarray, found: np.ndarray, link: np.ndarray
) -> None:
    """3. the last successful production deployment of its repository at or before it started."""
    rest = np.flatnonzero((link == "none") & (repo >= 0))
    ok = prod[prod["ok"]]
    if not len(rest) or ok.empty:
        return
    left = pd.DataFrame(
        {
            "row": rest,
            "repository_id": repo[rest],
            "started_at": _ns(incidents["started_at"]).to_numpy()[rest],
        }
    ).sort_values("started_at")
    right = ok[["repository_id", "at", "id"]].astype({"repository_id": "int64"}).sort_values("at")
    joined = pd.merge_asof(left, right, left_on="started_at", right_on="at", by="repository_id")
    joined = joined[joined["id"].notna()]
    found[joined["row"].to_numpy()] = joined["id"].astype("int64").to_numpy()
    link[joined["row"].to_numpy()] = "last_before"


def shipped(deployments: pd.DataFrame, prs: pd.DataFrame) -> pd.DataFrame:
    """(pr id, deployment_id): each merged PR with the first successful production deployment of its
    repository at or after its merge (so a deployment ships what merged since the previous one).

    Input — deployments: as :func:`production`; prs: id, repository_id, merged_at.
    """
    ok = production(deployments)
    ok = ok[ok["ok"]]
    merged = prs.loc[prs["merged_at"].notna(), ["id", "repository_id", "merged_at"]]
    merged = merged.assign(merged_at=_ns(merged["merged_at"]))
    if ok.empty or merged.empty:
        return pd.DataFrame({"id": pd.Series(dtype="int64"), "deployment_id": pd.Series(dtype="int64")})
    joined = pd.merge_asof(
        merged.astype({"repository_id": "int64"}).sort_values("merged_at"),
        ok[["repository_id", "at", "id"]]
        .rename(columns={"id": "deployment_id"})
        .astype({"repository_id": "int64"})
        .sort_values("at"),
        left_on="merged_at",
        right_on="at",
        by="repository_id",
        direction="forward",
    )
    joined = joined[joined["deployment_id"].notna()]
    return joined[["id", "deployment_id"]].astype("int64").reset_index(drop=True)


def is_hotfix(head_branch: pd.Series, labels: pd.Series) -> pd.Series:
    """A hotfix PR: its head branch starts with ``hotfix/`` (or ``-``/``_``) or it carries a ``hotfix``
    label (any case)."""
    branch = head_branch.fillna("").astype(str).str.lower().str.startswith(HOTFIX_PREFIXES)
    label = labels.map(lambda ls: any(str(x).lower() == "hotfix" for x in (ls or ())))
    return branch | label.astype(bool)


DEPLOYMENT_DEFAULTS = {"sha": "", "finished_at": pd.NaT, "repository_team_id": pd.NA}
PR_DEFAULTS = {
    "first_commit_at": pd.NaT,
    "is_bot": False,
    "ai_assisted": False,
    "head_branch": "",
    "labels": None,
    "revert_of_id": pd.NA,
    "reverted_at": pd.NaT,
}
INCIDENT_DEFAULTS = {"started_at": pd.NaT, "resolved_at": pd.NaT, "deployment_id": pd.NA}


def _flag(values: pd.Series) -> np.ndarray:
    """True where set; unknown (None, NaN, NA) is False."""
    return values.astype("float64").fillna(0.0).to_numpy() > 0


def _complete(frame: pd.DataFrame, defaults: dict[str, object]) -> pd.DataFrame:
    """``frame`` with the optional columns it lacks (a frame without ``id`` numbers its rows)."""
    out = frame.copy()
    if "id" not in out and defaults is DEPLOYMENT_DEFAULTS:
        out["id"] = np.arange(len(out))
    for name, value in defaults.items():
        if name in out:
            continue
        if isinstance(value, type(pd.NaT)):
            out[name] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
        else:
            out[name] = pd.Series([value] * len(out), index=out.index, dtype=object)
    return out


def outcomes(
    deployments: pd.DataFrame,
    incidents: pd.DataFrame | None,
    prs: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(production deployments with their outcome, shipped PRs with their lead time).

    Input — deployments: id, repository_id, sha, created_at, finished_at, status, is_production (and
    repository_team_id where known); incidents: id, started_at, resolved_at, deployment_id (the link);
    prs: id, repository_id, merged_at, first_commit_at, is_bot, ai_assisted, head_branch, labels,
    revert_of_id, reverted_at (reverts within the observation window only).

    Output 1, one row per production deployment: id, repository_id, (repository_team_id,) at, ok,
    rework, failed, recovery_hours (NaN unless failed with a known recovery), ai (shipped an AI-assisted
    PR), prs (non-bot PRs shipped).  Output 2, one row per shipped non-bot PR: deployment_id,
    lead_hours (first commit -> the deployment), ai, repository_id and at (of the deployment), size_lines.
    """
    deployments, prs = _complete(deployments, DEPLOYMENT_DEFAULTS), _complete(prs, PR_DEFAULTS)
    incidents = _complete(incidents if incidents is not None else pd.DataFrame(), INCIDENT_DEFAULTS)
    prod = production(deployments).reset_index(drop=True)
    n = len(prod)
    ships = shipped(deployments, prs).merge(
        prs[
            [
                *(c for c in ("additions", "deletions") if c in prs),
                "id",
                "first_commit_at",
                "is_bot",
                "ai_assisted",
                "head_branch",
                "labels",
                "revert_of_id",
                "reverted_at",
            ]
        ],
        on="id",
    )
    ships = ships[~_flag(ships["is_bot"])]
    row_of = pd.Series(np.arange(n), index=prod["id"].to_numpy())
    ship_row = row_of.reindex(ships["deployment_id"].to_numpy()).to_numpy()
    fixes = (is_hotfix(ships["head_branch"], ships["labels"]) | ships["revert_of_id"].notna()).to_numpy()
    shipped_ai = _flag(ships["ai_assisted"])
    shipped_reverted = ships["reverted_at"].notna().to_numpy()

    def any_of(mask: np.ndarray) -> np.ndarray:
        return np.bincount(ship_row[mask], minlength=n) > 0 if n else np.zeros(0, dtype=bool)

    ok = prod["ok"].to_numpy(dtype=bool)
    repo = prod["repository_id"].to_numpy(dtype=np.int64)
    sha = prod["sha"].fillna("").astype(str).str.lower().to_numpy()
    at = prod["at"]
    # the previous and the next successful deployment of the repository (row numbers, -1: none)
    pos = pd.Series(np.where(ok, np.arange(n), np.nan))
    by_repo = pos.groupby(repo)
    prev_ok = by_repo.shift(1).groupby(repo).ffill().fillna(-1).to_numpy(dtype=np.int64)
    next_ok = by_repo.shift(-1).groupby(repo).bfill().fillna(-1).to_numpy(dtype=np.int64)
    # rollback: deploys a commit an earlier successful deployment of the repository deployed, other than
    # the one just before it
    again = np.zeros(n, dtype=bool)
    again[ok] = pd.DataFrame({"r": repo[ok], "s": sha[ok]}).duplicated().to_numpy()
    rollback = ok & again & (sha != "") & ((prev_ok < 0) | (sha != sha[np.maximum(prev_ok, 0)]))
    rework = ok & (rollback | any_of(fixes))
    followed_by_rework = (next_ok >= 0) & rework[np.maximum(next_ok, 0)]
    inc = incidents[incidents["deployment_id"].notna()]
    inc_row = row_of.reindex(inc["deployment_id"].astype("int64").to_numpy()).to_numpy()
    keep = ~np.isnan(inc_row)
    inc, inc_row = inc[keep], inc_row[keep].astype(np.int64)
    has_incident = np.bincount(inc_row, minlength=n) > 0 if n else np.zeros(0, dtype=bool)
    failed = ~ok | has_incident | followed_by_rework | any_of(shipped_reverted)
    # recovery: the linked incidents' span (first start -> last resolution; unknown while one is open),
    # else the deployment -> the next successful one (the rollback, hotfix or redeploy that replaced it)
    at_ns = at.to_numpy(dtype="datetime64[ns]") if n else np.zeros(0, dtype="datetime64[ns]")
    start = at_ns.copy()
    end = np.where(next_ok >= 0, at_ns[np.maximum(next_ok, 0)] if n else at_ns, np.datetime64("NaT"))
    if len(inc):
        started = inc["started_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        resolved = inc["resolved_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        spans = pd.DataFrame({"row": inc_row, "start": started, "end": resolved})
        grouped = spans.groupby("row")
        first, last_end = grouped["start"].min(), grouped["end"].max()
        open_ = grouped["end"].apply(lambda s: s.isna().any())
        rows = first.index.to_numpy()
        start[rows] = first.to_numpy()
        end[rows] = np.where(open_.to_numpy(), np.datetime64("NaT"), last_end.to_numpy())
    span = (end - start).astype("timedelta64[us]").astype("float64") / 3_600_000_000
    span[np.isnat(end) | np.isnat(start) | (span < 0)] = np.nan
    out = prod.assign(
        rework=rework,
        failed=failed,
        recovery_hours=np.where(failed, span, np.nan),
        ai=any_of(shipped_ai),
        prs=np.bincount(ship_row, minlength=n) if n else np.zeros(0, dtype=np.int64),
    )
    shipped_at = at.iloc[ship_row].reset_index(drop=True) if n else pd.Series(dtype="datetime64[ns, UTC]")
    size = (
        (ships["additions"].astype(float) + ships["deletions"].astype(float)).to_numpy()
        if {"additions", "deletions"} <= set(ships.columns)
        else np.full(len(ships), np.nan)
    )
    lead = pd.DataFrame(
        {
            "deployment_id": ships["deployment_id"].to_numpy(),
            "pr_id": ships["id"].to_numpy(),
            "lead_hours": hours_between(
                ships["first_commit_at"].reset_index(drop=True), shipped_at
            ).to_numpy(),
            "ai": shipped_ai,
            "repository_id": repo[ship_row] if n else np.zeros(0, dtype=np.int64),
            "at": shipped_at.to_numpy(),
            "size_lines": size,
        }
    )
    return out, lead


# --- Split by AI use -------------------------------------------------------------------------------
# A deployment is AI-assisted when it shipped at least one AI-assisted (or agent-authored) PR; a PR's lead
# time is AI-assisted when the PR is.  The adjusted comparison is ``ai_impact.fe_effect`` on deployments:
# change failure (0/1, a linear probability model, percentage points) on the AI flag and log(1 + PRs
# shipped), with repository and month fixed effects, errors clustered by repository; lead time (log
# hours, % change) on the AI flag and log PR size, same fixed effects and clusters.  Too few deployments
# (``ai_impact.MIN_TREATED``/``MIN_CONTROL`` each side) or repositories (``MIN_CLUSTERS``) give "not
# enough data" and no number.  Validated on planted truths in tests/analytics/test_delivery_ai_validation.py.

SPLIT_GROUPS = ("ai", "rest")


@dataclass(frozen=True)
class SplitRow:
    """One figure of the AI split: a group's key (``method`` "group") or the comparison ("adjusted")."""

    key: str
    method: str  # group | adjusted
    group: str  # ai | rest | "" (adjusted: AI minus the rest)
    unit: str
    value: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    n_treated: int = 0
    n_clusters: int = 0
    status: str = "ok"


def _month(at: pd.Series) -> np.ndarray:
    at = pd.to_datetime(at, utc=True)  # an empty frame's column may have no datetime type
    return at.dt.tz_localize(None).dt.to_period("M").astype(str).to_numpy()


def adjusted_split(deploys: pd.DataFrame, lead: pd.DataFrame) -> list[SplitRow]:
    """The adjusted AI-vs-rest differences of the change failure rate and the lead time.

    Input — deploys: failed, ai, prs, repository_id, at (observed deployments only); lead: lead_hours,
    ai, repository_id, at, and where known size_lines."""
    size = lead["size_lines"] if "size_lines" in lead else pd.Series(0.0, index=lead.index)
    cfr = _ai_effect(
        deploys,
        outcome="change_failure_rate",
        y=("failed", deploys["failed"].astype(float).to_numpy()),
        control=("log_prs", np.log1p(deploys["prs"].astype(float).to_numpy())),
    )
    # ``fe_effect`` reports an outcome named cycle_time on the log scale as a % change.
    lead_effect = _ai_effect(
        lead,
        outcome="cycle_time",
        y=("log_lead", np.log(lead["lead_hours"].astype(float).clip(lower=1 / 60).to_numpy())),
        control=("log_size", np.log1p(size.astype(float).fillna(0).to_numpy())),
    )
    return [_row("change_failure_rate", cfr), _row("lead_time_for_changes", lead_effect)]


def _ai_effect(
    rows: pd.DataFrame, *, outcome: str, y: tuple[str, np.ndarray], control: tuple[str, np.ndarray]
) -> ai_impact.Estimate:
    """The effect of ``rows["ai"]`` on ``y`` (name, values; rows where it is not finite left out) with one
    ``control``, repository and month fixed effects, errors clustered by repository."""
    frame = pd.DataFrame(
        {
            y[0]: y[1],
            "ai": rows["ai"].astype(float).to_numpy(),
            control[0]: control[1],
            "repository_id": rows["repository_id"].to_numpy(),
            "month": _month(rows["at"]),
        }
    )
    return ai_impact.fe_effect(
        frame[np.isfinite(frame[y[0]])],
        outcome=outcome,
        y=y[0],
        treat="ai",
        controls=[control[0]],
        fixed_effects=["repository_id", "month"],
        cluster="repository_id",
    )


def _row(key: str, e: ai_impact.Estimate) -> SplitRow:
    return SplitRow(
        key, "adjusted", "", e.unit, e.estimate, e.n, e.ci_low, e.ci_high, e.n_treated, e.n_clusters, e.status
    )


def ai_split(
    deploys: pd.DataFrame, lead: pd.DataFrame, *, through: pd.Timestamp | None = None, window_days: int = 14
) -> list[SplitRow]:
    """Each key for AI-assisted deployments (and PRs) and for the rest, and the adjusted comparison.

    Input: :func:`outcomes`' two frames (lead with ``at`` and ``repository_id`` of its deployment);
    ``through``: the change failure rate counts only deployments whose observation window has closed."""
    rows: list[SplitRow] = []
    observed = (
        deploys if through is None else deploys[deploys["at"] + pd.Timedelta(days=window_days) <= through]
    )
    for group in SPLIT_GROUPS:
        mine = deploys[deploys["ai"] == (group == "ai")]
        seen = observed[observed["ai"] == (group == "ai")]
        ok = mine[mine["ok"]]
        shipped = lead.loc[lead["ai"] == (group == "ai"), "lead_hours"].dropna()
        recovery = mine["recovery_hours"].dropna()
        rows += [
            SplitRow("deployment_frequency", "group", group, "count", float(len(ok)), len(ok)),
            SplitRow(
                "change_failure_rate",
                "group",
                group,
                "share",
                float(seen["failed"].mean()) if len(seen) else None,
                len(seen),
            ),
            SplitRow(
                "deployment_rework_rate",
                "group",
                group,
                "share",
                float(ok["rework"].mean()) if len(ok) else None,
                len(ok),
            ),
            SplitRow(
                "lead_time_for_changes_p50",
                "group",
                group,
                "hours",
                float(shipped.median()) if len(shipped) else None,
                len(shipped),
            ),
            SplitRow(
                "failed_deployment_recovery_time_p50",
                "group",
                group,
                "hours",
                float(recovery.median()) if len(recovery) else None,
                len(recovery),
            ),
        ]
    return rows + adjusted_split(observed, lead)
