"""The one team tree and the one membership-at-a-time rule (``metrics.analytics.team_tree``), and that no
other module walks parent links or spells the membership rule again."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from metrics.analytics.team_tree import (
    Membership,
    TeamTree,
    is_member_at,
    members_at,
    memberships_at,
    teams_at_event,
)

ROOT = Path(__file__).resolve().parents[2]

# 1 Org
#   3 checkout      (name sorts before "Payments" case-insensitively, after it by code point)
#     5 Web
#   2 Payments
#     4 api
# 6 Labs            (parent 99 is unknown: a top)
ROWS = [
    (1, None, "Org"),
    (2, 1, "Payments"),
    (3, 1, "checkout"),
    (4, 2, "api"),
    (5, 3, "Web"),
    (6, 99, "Labs"),
]


def test_descendants_include_the_roots_and_ancestors_exclude_the_team() -> None:
    tree = TeamTree(ROWS)
    assert tree.descendants([2]) == {2, 4}
    assert tree.descendants(1) == {1, 2, 3, 4, 5}
    assert tree.descendants([4, 6]) == {4, 6}
    assert tree.descendants([42]) == {42}  # an unknown id stays in, alone (access scopes rely on it)
    assert tree.ancestors(5) == (3, 1) and tree.ancestors(1) == () and tree.ancestors(42) == ()
    assert [tree.depth(t) for t in (1, 3, 5, 6)] == [0, 1, 2, 0]


def test_depth_first_order_siblings_by_name_ignoring_case() -> None:
    tree = TeamTree(ROWS)
    assert tree.depth_first() == [(6, 0), (1, 0), (3, 1), (5, 2), (2, 1), (4, 2)]
    assert tree.depth_first([2]) == [(2, 0), (4, 1)]
    # a chosen team below another chosen one is listed once, under its parent; unknown ids are left out
    assert tree.depth_first([4, 1, 77]) == [(1, 0), (3, 1), (5, 2), (2, 1), (4, 2)]
    given = TeamTree(sorted(ROWS, key=lambda r: str(r[2])), order="given")  # code point order, as SQLite
    assert given.depth_first() == [(6, 0), (1, 0), (2, 1), (4, 2), (3, 1), (5, 2)]


def test_a_deep_tree_is_walked_without_recursion() -> None:
    depth = 5000
    tree = TeamTree([(i, i - 1 if i else None, f"t{i}") for i in range(depth)])
    assert len(tree.descendants(0)) == depth
    assert tree.depth(depth - 1) == depth - 1
    assert tree.ancestors(depth - 1)[:2] == (depth - 2, depth - 3)
    assert tree.depth_first()[-1] == (depth - 1, depth - 1)


@pytest.mark.parametrize(
    "rows",
    [
        [(1, 3, "A"), (2, 1, "B"), (3, 2, "C"), (4, 2, "D")],  # 1 -> 3 -> 2 -> 1, and 4 hangs off the loop
        [(3, 2, "C"), (2, 1, "B"), (1, 3, "A"), (4, 2, "D")],  # the same rows in another order
    ],
)
def test_a_loop_in_bad_data_is_cut_at_its_smallest_team(rows: list[tuple[int, int, str]]) -> None:
    tree = TeamTree(rows)
    assert tree.parent(1) is None and tree.tops == (1,)
    assert tree.ancestors(3) == (2, 1) and tree.ancestors(4) == (2, 1)
    assert tree.descendants(1) == {1, 2, 3, 4} and tree.descendants(2) == {2, 3, 4}
    assert tree.descendants(3) == {3}
    assert tree.depth_first() == [(1, 0), (2, 1), (3, 2), (4, 2)]  # every team listed once
    pairs = set(tree.with_ancestors().itertuples(index=False, name=None))
    assert pairs == {(1, 1), (2, 2), (2, 1), (3, 3), (3, 2), (3, 1), (4, 4), (4, 2), (4, 1)}


def test_a_team_that_is_its_own_parent_is_a_top() -> None:
    tree = TeamTree([(7, 7, "Self")])
    assert tree.tops == (7,) and tree.ancestors(7) == () and tree.depth_first() == [(7, 0)]


def test_from_frame_reads_missing_parents_as_tops() -> None:
    parents = pd.array([pd.NA, 1], dtype="Int64")
    frame = pd.DataFrame({"team_id": [1, 2], "parent_id": parents, "name": ["a", "b"]})
    tree = TeamTree.from_frame(frame)
    assert tree.tops == (1,) and tree.children(1) == (2,)


T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)


def test_membership_start_inclusive_end_exclusive() -> None:
    assert is_member_at(T0, T1, T0) and not is_member_at(T0, T1, T1)
    assert not is_member_at(T0, T1, T0 - dt.timedelta(microseconds=1))
    assert is_member_at(None, None, T1) and is_member_at(None, T1, T0) and is_member_at(T0, None, T1)
    rows = [Membership(1, 10, T0, T1), Membership(2, 10, None, T0), Membership(3, 10, T1, None)]
    assert [m.person_id for m in members_at(rows, T0)] == [1]
    assert [m.person_id for m in members_at(rows, T1)] == [3]
    frame = pd.DataFrame(rows, columns=["person_id", "team_id", "start", "end"])
    assert memberships_at(frame, T0)["person_id"].tolist() == [1]
    assert memberships_at(frame, T1)["person_id"].tolist() == [3]


def test_teams_at_event_uses_the_same_boundaries() -> None:
    members = pd.DataFrame(
        [(1, 10, T0, T1), (1, 20, T1, None)], columns=["person_id", "team_id", "start", "end"]
    )
    prs = pd.DataFrame({"id": [100, 101, 102], "author_id": [1, 1, 2], "merged_at": [T0, T1, T0]})
    got = teams_at_event(prs, members)
    assert sorted(zip(got["id"], got["team_id"], strict=True)) == [(100, 10), (101, 20)]


# --- architecture: the tree is walked and the membership rule spelled only here ----------------------

OWNER = ROOT / "metrics/analytics/team_tree.py"
ORM_RULE = ROOT / "metrics/core/models.py"  # TeamMembership.at_q: the SQL spelling of is_member_at
# The survey privacy floor walks the tree of its result groups (keyed "all", "team:<id>"), given to it
# as data and validated there: a loop is an error for the floor, not something to cut.
ALLOWED_WALKS = {"metrics/analytics/survey_groups.py": {"_tree_of", "_depth", "floor_status"}}
WALK = re.compile(
    r"\bparent_id\b|\.parent\b|\bparent_of\b|\bparent\[|\bparent\.get\(|children\.setdefault|children\.get\(|children\["
)
MEMBER_AT = re.compile(
    r"(?<![a-z_])start__lte|\bstart__isnull|\[\"start\"\] <=|\.start <=|start is None or [\w.]*start <="
)


def _sources() -> list[Path]:
    return [p for p in sorted((ROOT / "metrics").rglob("*.py")) if "migrations" not in p.parts and p != OWNER]


def _parent_walks(path: Path) -> set[str]:
    """Functions with a loop that follows parent links: a ``while``/``for`` that reads a parent or grows a
    ``children`` map (the two ways the old copies walked the tree)."""
    found = set()
    for function in ast.walk(ast.parse(path.read_text())):
        if isinstance(function, ast.FunctionDef):
            loops = [n for n in ast.walk(function) if isinstance(n, ast.While | ast.For)]
            if any(WALK.search(ast.unparse(loop)) for loop in loops):
                found.add(function.name)
    return found


def test_no_module_but_the_tree_walks_parent_links() -> None:
    walks = {str(p.relative_to(ROOT)): names for p in _sources() if (names := _parent_walks(p))}
    assert walks == ALLOWED_WALKS, "walk the team tree with metrics.analytics.team_tree.TeamTree"


def test_no_module_but_the_tree_spells_membership_at_a_time() -> None:
    found = {}
    for path in _sources():
        lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if MEMBER_AT.search(line)]
        if lines and path != ORM_RULE:
            found[str(path.relative_to(ROOT))] = lines
    assert found == {}, "use team_tree or TeamMembership.at_q"


def test_the_architecture_checks_can_fail(tmp_path: Path) -> None:
    copy = tmp_path / "copy.py"
    copy.write_text("def up(parent, t):\n    while t is not None:\n        t = parent[t]\n    return t\n")
    assert _parent_walks(copy) == {"up"}
    old_rule = "Q(start__isnull=True) | Q(start__lte=when)"
    assert MEMBER_AT.search(old_rule) and not MEMBER_AT.search("period_start__lte=until")
