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

import numpy as np
import pandas as pd

PRODUCTION_STATUSES = ("success", "failure", "error")
HOTFIX_PREFIXES = ("hotfix/", "hotfix-", "hotfix_")
SHA_MIN = 7  # a commit named by fewer characters links nothing (ambiguous)


def production(deployments: pd.DataFrame) -> pd.DataFrame:
    """Production deployments with a known outcome, with ``at`` (finished, else created) and ``ok``."""
    prod = deployments[
        deployments["is_production"].astype(bool) & deployments["status"].isin(PRODUCTION_STATUSES)
    ].copy()
    finished = prod["finished_at"] if "finished_at" in prod else prod["created_at"]
    prod["at"] = finished.fillna(prod["created_at"])
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
        {"row": rest, "repository_id": repo[rest], "started_at": incidents["started_at"].to_numpy()[rest]}
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
