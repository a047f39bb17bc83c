"""A commit graph in memory: generation numbers, reachability and ranges, without calling git.

Computing ``git rev-list A..B`` in a subprocess for thousands of PRs is too slow; the graph
is small enough (tens of thousands of commits) to answer the same questions in Python.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable


class _Paint:
    """Walk state for :meth:`CommitGraph.range`: flag 1 = reachable from include, 2 = from exclude.

    ``heap`` holds flagged nodes newest generation first; ``ones`` counts queued nodes flagged
    only 1 (the open paths still to resolve).
    """

    def __init__(self, generation: list[int]) -> None:
        self.generation = generation
        self.flags: dict[int, int] = {}
        self.heap: list[tuple[int, int]] = []
        self.ones = 0

    def mark(self, node: int, flag: int) -> None:
        old = self.flags.get(node, 0)
        new = old | flag
        if new == old:
            return
        if old == 0:
            heapq.heappush(self.heap, (-self.generation[node], node))
        if new == 1:
            self.ones += 1
        elif old == 1:
            self.ones -= 1
        self.flags[node] = new


class CommitGraph:
    """Commits as dense integer ids; ``parents[i]`` are ids of i's parents."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.shas: list[str] = []
        self.parents: list[tuple[int, ...]] = []
        self.generation: list[int] = []

    def add(self, sha: str, parent_shas: Iterable[str]) -> int:
        """Add a commit; its parents must already be present (topological order), unknown ones are ignored."""
        ids = tuple(self.index[p] for p in parent_shas if p in self.index)
        i = len(self.shas)
        self.index[sha] = i
        self.shas.append(sha)
        self.parents.append(ids)
        self.generation.append(1 + max((self.generation[p] for p in ids), default=0))
        return i

    def __len__(self) -> int:
        return len(self.shas)

    def ancestors(self, tip: int) -> bytearray:
        """A membership mask of ``tip`` and everything reachable from it."""
        mask = bytearray(len(self.shas))
        stack = [tip]
        mask[tip] = 1
        while stack:
            for p in self.parents[stack.pop()]:
                if not mask[p]:
                    mask[p] = 1
                    stack.append(p)
        return mask

    def first_parent_line(self, tip: int) -> list[int]:
        line = [tip]
        while self.parents[line[-1]]:
            line.append(self.parents[line[-1]][0])
        return line

    def outside(self, tip: int, excluded: bytearray) -> tuple[list[int], list[int]]:
        """Commits reachable from ``tip`` that are not in ``excluded``.

        Also returns the excluded commits where the walk stopped.
        """
        if excluded[tip]:
            return [], []
        seen = {tip}
        found, boundary = [], []
        stack = [tip]
        while stack:
            node = stack.pop()
            found.append(node)
            for p in self.parents[node]:
                if p in seen:
                    continue
                seen.add(p)
                if excluded[p]:
                    boundary.append(p)
                else:
                    stack.append(p)
        return found, boundary

    def range(self, exclude: Iterable[int], include: Iterable[int]) -> list[int]:
        """``git rev-list ^exclude... include...``: ancestors of ``include`` not reachable from ``exclude``.

        Walks both sides newest-generation first and stops once every open path is reachable
        from ``exclude`` (git's paint-down), so the cost is the size of the branch, not the history.
        """
        paint = _Paint(self.generation)
        for node in include:
            paint.mark(node, 1)
        for node in exclude:
            paint.mark(node, 2)
        result: list[int] = []
        done: set[int] = set()
        while paint.heap and paint.ones > 0:
            _, node = heapq.heappop(paint.heap)
            if node in done:
                continue
            done.add(node)
            flag = paint.flags[node]
            if flag == 1:
                paint.ones -= 1
                result.append(node)
            for p in self.parents[node]:
                if p not in done:
                    paint.mark(p, flag)
        return result
