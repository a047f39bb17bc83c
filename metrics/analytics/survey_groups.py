"""Survey result groups and the privacy floor.  Pure pandas, no Django.

Groups
------
Results are shown per *group*: the root ``"all"`` (every respondent of the round) and one group per
team in the round's scope (``"team:<id>"``), holding the respondents of that team and of every team
below it.  Groups are nested or disjoint (a tree), which the privacy floor relies on.

The privacy floor (:func:`floor_status`, :func:`apply_group_floor`)
---------------------------------------------------------------------
``m`` = ``min_size`` (settings.MIN_GROUP_SIZE, default 5).  The *residual* of a shown group A is A's
respondents minus those of A's maximal shown sub-groups (the shown groups below A with no shown group
in between): exactly what an observer learns about A's own members and hidden sub-teams by
subtracting the shown sub-groups from A.  The rule:

1. a group with fewer than ``m`` respondents is hidden (``"small"``);
2. groups are decided parents first (by depth), larger siblings first, ties by group key; a group with
   at least ``m`` respondents is shown unless showing it would leave the residual of its nearest shown
   ancestor between 1 and ``m - 1`` — then it is hidden (``"subtraction"``).

Invariant: every shown group has >= ``m`` respondents and every residual is 0 or >= ``m``.  The residuals
of the shown groups partition their respondents, and any group an observer can compute from shown
results (A - B for nested shown groups, a parent minus several shown children, ...) is a union of
residuals, hence empty or of at least ``m`` respondents; two disjoint shown groups reveal nothing by
subtraction.  Hiding more groups only merges residuals, so any further hiding keeps the guarantee —
which is why each question's statistics may be floored again by the number who answered it.

Example: parent 7 respondents, child A 5, child B 2.  The parent (7) is shown first; showing A would
leave 7 - 5 = 2, so A is hidden by subtraction; B is hidden as small.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import pandas as pd

from metrics.analytics.team_tree import TeamTree

ROOT = "all"
ROOT_NAME = "All respondents"
SMALL, SUBTRACTION = "small", "subtraction"


# --- the group tree ---------------------------------------------------------------------------------


def group_tree(
    teams: pd.DataFrame, scope_team_ids: Iterable[int], extra_team_ids: Iterable[int] = ()
) -> pd.DataFrame:
    """The groups of a round: root, the scope teams with all teams below them, and ``extra`` teams.

    Output columns ``group, parent, team_id, name, depth``, in display order (depth first, children
    by name).  A team's parent group is its nearest ancestor inside the round, else the root.
    """
    tree = TeamTree.from_frame(teams.sort_values("team_id"))  # siblings by name, then by id
    unknown = sorted({int(t) for t in [*scope_team_ids, *extra_team_ids]} - tree.rows.keys())
    if unknown:
        raise ValueError(f"unknown team id(s) {unknown}")
    scope = set(tree.descendants(scope_team_ids)) | {int(t) for t in extra_team_ids}
    # The round's own tree: each team under its nearest ancestor inside the round, else at the top.
    inside = TeamTree(
        (row.id, next((a for a in tree.ancestors(t) if a in scope), None), row.name)
        for t, row in tree.rows.items()
        if t in scope
    )
    rows: list[tuple[str, str | None, int | None, str, int]] = [(ROOT, None, None, ROOT_NAME, 0)]
    rows += [
        (
            f"team:{t}",
            f"team:{inside.parent(t)}" if inside.parent(t) is not None else ROOT,
            t,
            inside.rows[t].name,
            depth + 1,
        )
        for t, depth in inside.depth_first()
    ]
    frame = pd.DataFrame(rows, columns=["group", "parent", "team_id", "name", "depth"])
    return frame.astype({"team_id": "Int64"}).reset_index(drop=True)


def _chains(groups: pd.DataFrame) -> dict[int, list[str]]:
    """team_id -> its group and every group above it, root included."""
    teams = groups.dropna(subset=["team_id"])
    tree = TeamTree(
        (t, None if p == ROOT else int(p.split(":")[1]))
        for t, p in zip(teams["team_id"], teams["parent"], strict=True)
    )
    return {t: [f"team:{a}" for a in (t, *tree.ancestors(t))] + [ROOT] for t in tree.rows}


def expand_to_groups(rows: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (with ``team_id``) repeated once per group that contains them, in column ``group``.

    A row whose team is missing or outside the tree belongs to the root only.
    """
    chains = _chains(groups)
    memberships = [chains.get(int(t), [ROOT]) if not pd.isna(t) else [ROOT] for t in rows["team_id"]]
    out = rows.assign(group=pd.Series(memberships, index=rows.index, dtype=object)).explode("group")
    return out.reset_index(drop=True)


# --- the privacy floor ------------------------------------------------------------------------------


def _tree_of(frame: pd.DataFrame, count: str) -> tuple[dict[str, str | None], dict[str, int]]:
    """(parent, count) per group, checked: one row per group, known parents, no cycle, nested counts."""
    groups = [str(g) for g in frame["group"]]
    if len(set(groups)) != len(groups):
        raise ValueError(f"group(s) {sorted({g for g in groups if groups.count(g) > 1})} appear twice")
    parent = {g: None if pd.isna(p) else str(p) for g, p in zip(groups, frame["parent"], strict=True)}
    counts: dict[str, int] = {}
    for group, value in zip(groups, frame[count], strict=True):
        if pd.isna(value) or value < 0 or float(value) != int(value):
            raise ValueError(f"group {group!r}: {count} must be a whole number >= 0, got {value!r}")
        counts[group] = int(value)
    children_total: dict[str, int] = defaultdict(int)
    for group, up in parent.items():
        if up is None:
            continue
        if up not in parent:
            raise ValueError(f"group {group!r}: parent {up!r} is not among the groups")
        children_total[up] += counts[group]
    for group in parent:
        seen, current = {group}, parent[group]
        while current is not None:
            if current in seen:
                raise ValueError(f"groups form a cycle through {group!r}")
            seen.add(current)
            current = parent[current]
    for group, total in children_total.items():
        if total > counts[group]:
            raise ValueError(
                f"group {group!r}: its sub-groups hold {total} {count}, more than its own "
                f"{counts[group]}; groups must be nested"
            )
    return parent, counts


def _depth(parent: dict[str, str | None], group: str) -> int:
    depth, current = 0, parent[group]
    while current is not None:
        depth, current = depth + 1, parent[current]
    return depth


def floor_status(results: pd.DataFrame, min_size: int, *, count: str = "respondents") -> pd.Series:
    """Why each group is hidden ("small", "subtraction") or "" when it may be shown (module docstring).

    ``results`` has one row per group with ``group``, ``parent`` (None/<NA> for a top group) and the
    ``count`` column; the groups must be nested (a child's count within its parent's).  Returns a
    Series aligned with ``results``.
    """
    if min_size < 1:
        raise ValueError(f"min_size must be at least 1, got {min_size}")
    parent, counts = _tree_of(results, count)
    order = sorted(parent, key=lambda g: (_depth(parent, g), -counts[g], g))
    residual: dict[str, int] = {}  # shown group -> its respondents not in a shown sub-group
    status: dict[str, str] = {}
    for group in order:
        if counts[group] < min_size:
            status[group] = SMALL
            continue
        above = parent[group]
        while above is not None and above not in residual:
            above = parent[above]
        left = residual[above] - counts[group] if above is not None else 0
        if above is not None and 0 < left < min_size:
            status[group] = SUBTRACTION
            continue
        if above is not None:
            residual[above] = left
        residual[group] = counts[group]
        status[group] = ""
    return pd.Series(
        [status[str(g)] for g in results["group"]], index=results.index, name="hidden", dtype=object
    )


def apply_group_floor(
    results: pd.DataFrame, min_size: int, *, count: str = "respondents", by: Sequence[str] = ()
) -> pd.DataFrame:
    """The rows of ``results`` that may be shown: every other group is dropped (module docstring).

    With ``by``, each partition (e.g. each round, each question) is its own tree.
    """
    if not len(results):
        return results.copy()
    if not by:
        return results[floor_status(results, min_size, count=count) == ""].copy()
    keep = pd.Series(False, index=results.index)
    for _, part in results.groupby(list(by), sort=False, dropna=False):
        keep[part.index] = floor_status(part, min_size, count=count) == ""
    return results[keep].copy()
