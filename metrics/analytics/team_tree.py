"""The team tree and dated team membership, defined once.  Pure Python and pandas, no Django.

Every module that needs "the teams below", "the teams above", the indented tree order or "who was in
the team at that time" asks this module (the ORM spelling of the membership rule is
``TeamMembership.at_q`` in ``metrics.core.models``, which states the same rule for SQL).

The tree
--------
Built from ``(id, parent_id, name, slug)`` rows.  A parent id that is not one of the rows makes the
team a top.  Bad data can loop (A under B under A; imports and the settings page refuse to create
one, but the database does not forbid it): every walk must still end, so the loop is cut once, when
the tree is built — its team with the smallest id loses its parent and becomes a top.  After that the
tree is a forest and every walk (below, above, depth-first, depth) agrees with the others.

Siblings (and tops) are ordered by name, case-insensitively, ties in the order the rows came; with
``order="given"`` they keep the rows' order (for callers that pass rows sorted by the database's own
collation, so the page lists names as the database sorts them).

Membership at a time
--------------------
A membership is ``(person_id, team_id, start, end)``: the person is in the team at ``when`` when
``start <= when < end`` — start inclusive, end exclusive, a missing start or end unbounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

import pandas as pd


class TeamRow(NamedTuple):
    id: int
    parent_id: int | None
    name: str = ""
    slug: str = ""


class TeamTree:
    """An immutable team forest; see the module docstring for the order of siblings and for loops."""

    def __init__(self, rows: Iterable[Sequence[Any]], *, order: Literal["name", "given"] = "name") -> None:
        given = [TeamRow(int(r[0]), _id_or_none(r[1]), *(str(v) for v in r[2:4])) for r in rows]
        if order == "name":  # a stable sort: equal names keep the rows' order
            given.sort(key=lambda row: row.name.casefold())
        self.rows: dict[int, TeamRow] = {row.id: row for row in given}
        self._rank = {team: rank for rank, team in enumerate(self.rows)}
        self._parent = {
            row.id: row.parent_id if row.parent_id in self.rows else None for row in self.rows.values()
        }
        self._cut_loops()
        children: dict[int, list[int]] = {}
        for team, parent in self._parent.items():  # in rank order, so children come out sorted
            if parent is not None:
                children.setdefault(parent, []).append(team)
        self._children = {team: tuple(kids) for team, kids in children.items()}
        self.tops: tuple[int, ...] = tuple(t for t, p in self._parent.items() if p is None)

    def _cut_loops(self) -> None:
        """Each loop of parent links loses the parent link of its smallest team (see the module docstring)."""
        done: set[int] = set()
        for start in self._parent:
            path: list[int] = []
            current: int | None = start
            while current is not None and current not in done and current not in path:
                path.append(current)
                current = self._parent[current]
            if current is not None and current in path:
                self._parent[min(path[path.index(current) :])] = None
            done.update(path)

    def __contains__(self, team: object) -> bool:
        return team in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def parent(self, team: int) -> int | None:
        """The team's parent in the tree (None for a top, an unknown team, or the team a loop was cut at)."""
        return self._parent.get(team)

    def children(self, team: int) -> tuple[int, ...]:
        """The teams right below ``team``, in sibling order."""
        return self._children.get(team, ())

    def descendants(self, roots: int | Iterable[int]) -> frozenset[int]:
        """``roots`` themselves and every team below them (a root not in the tree stays in, alone)."""
        seen: set[int] = set()
        stack = [roots] if isinstance(roots, int) else [int(r) for r in roots]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self._children.get(current, ()))
        return frozenset(seen)

    def ancestors(self, team: int) -> tuple[int, ...]:
        """The teams above ``team``, nearest first, without ``team`` itself (none for an unknown team)."""
        chain: list[int] = []
        current = self._parent.get(team)
        while current is not None:
            chain.append(current)
            current = self._parent[current]
        return tuple(chain)

    def depth(self, team: int) -> int:
        """0 for a top, 1 for its children, and so on."""
        return len(self.ancestors(team))

    def depth_first(self, roots: Iterable[int] | None = None) -> list[tuple[int, int]]:
        """(team, depth) in the indented tree order: each team right under its parent, siblings in order.

        ``roots`` None: the whole forest.  Else only the given teams with the teams below them, depth 0
        at each root; a root below another given root is listed once, under its parent; unknown ids are
        left out; roots in sibling order.
        """
        if roots is None:
            tops = list(self.tops)
        else:
            chosen = {int(r) for r in roots if r in self.rows}
            outermost = (t for t in chosen if chosen.isdisjoint(self.ancestors(t)))
            tops = sorted(outermost, key=self._rank.__getitem__)
        out: list[tuple[int, int]] = []
        stack = [(team, 0) for team in reversed(tops)]
        while stack:
            team, depth = stack.pop()
            out.append((team, depth))
            stack.extend((kid, depth + 1) for kid in reversed(self._children.get(team, ())))
        return out

    def with_ancestors(self) -> pd.DataFrame:
        """(team_id, rollup_team_id): every team paired with itself and with each team above it."""
        pairs = [(team, up) for team in self.rows for up in (team, *self.ancestors(team))]
        return pd.DataFrame(pairs, columns=["team_id", "rollup_team_id"], dtype="int64")

    @classmethod
    def from_frame(cls, teams: pd.DataFrame, *, order: Literal["name", "given"] = "name") -> TeamTree:
        """The tree of a frame: ``team_id``, ``parent_id`` (NA at the top), optional ``name``, ``slug``."""
        columns = [c for c in ("team_id", "parent_id", "name", "slug") if c in teams]
        return cls(teams[columns].itertuples(index=False, name=None), order=order)


def _id_or_none(value: object) -> int | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return int(value)  # type: ignore[call-overload]


# --- membership at a time ---------------------------------------------------------------------------


class Membership(NamedTuple):
    person_id: int
    team_id: int
    start: Any = None  # datetime or None (since always)
    end: Any = None  # datetime or None (still a member); exclusive


def is_member_at(start: Any, end: Any, when: Any) -> bool:
    """The membership rule: ``start <= when < end``, a missing start or end unbounded."""
    return (start is None or start <= when) and (end is None or when < end)


def active_mask(start: pd.Series, end: pd.Series, when: pd.Series | Any) -> pd.Series:
    """``is_member_at`` row by row (``when`` a column of the same frame or one time for all rows)."""
    return (start.isna() | (start <= when)) & (end.isna() | (end > when))


class Dated(Protocol):
    """Anything with a membership's ``start`` and ``end`` (a ``Membership``, a model instance...)."""

    @property
    def start(self) -> Any: ...

    @property
    def end(self) -> Any: ...


M = TypeVar("M", bound=Dated)


def members_at(memberships: Iterable[M], when: Any) -> list[M]:
    """The memberships that hold at ``when`` (plain rows); for a frame use ``memberships_at``."""
    return [m for m in memberships if is_member_at(m.start, m.end, when)]


def memberships_at(memberships: pd.DataFrame, when: Any) -> pd.DataFrame:
    """The rows of a membership frame (``start``, ``end`` columns) that hold at ``when``."""
    return memberships[active_mask(memberships["start"], memberships["end"], when)]


def teams_at_event(
    events: pd.DataFrame, memberships: pd.DataFrame, *, person: str = "author_id", when: str = "merged_at"
) -> pd.DataFrame:
    """Each event (say a PR: ``id``, ``person``, ``when``) joined with the memberships its person held at
    ``when`` (``person_id, team_id, start, end``): one row per event and team, events in no team left out."""
    joined = events[["id", person, when]].merge(memberships, left_on=person, right_on="person_id")
    return joined[active_mask(joined["start"], joined["end"], joined[when])]
