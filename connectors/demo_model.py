"""Parameters, working types and small helpers of the demo generator (see :mod:`connectors.demo`)."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from connectors.records import CommitRecord, IdentityRecord

DEFAULT_SEED = 20261128
DEFAULT_END = datetime(2026, 11, 23, tzinfo=UTC)
DOMAIN = "demo.sextant.example"
AI_CYCLE_TIME_FACTOR = 0.8
REVERT_P = {"base": 0.03, "ai": 0.024, "bot": 0.02}
UNMARKED_SHARE = 0.3
SIZE_ELASTICITY = 0.35
AI_SIZE_FACTOR = 0.65
BASE_CYCLE_HOURS = 40.0
TREND = -0.08
WEEKLY_PR_RATE = 1.1
ABANDON_P = 0.07
NOISE = 0.7  # sd of the residual of log cycle time


@dataclass
class _Team:
    name: str
    parent: str
    repo: str
    tz: timezone
    adoption: datetime | None
    tool: str
    effect: float


@dataclass
class _Engineer:
    ident: IdentityRecord
    tz: timezone
    rate: float
    effect: float
    ai_lag: float | None  # days after the team adopts; None = never uses AI
    ai_p: float
    spans: list[tuple[int, datetime, datetime | None]] = field(default_factory=list)

    def team_at(self, t: datetime) -> int | None:
        for team, start, end in self.spans:
            if start <= t and (end is None or t < end):
                return team
        return None


@dataclass
class _PR:
    uid: int
    repo: str
    author: IdentityRecord
    tz: timezone
    team: int | None
    created: datetime
    title: str
    branch: str
    additions: int
    deletions: int
    files: int
    labels: tuple[str, ...] = ()
    body: str = ""
    ai: bool = False
    tool: str = ""
    mark: str = ""  # "" | trailer | branch
    is_bot: bool = False
    state: str = "open"
    reverts: _PR | None = None
    number: int = 0
    t: dict[str, datetime | None] = field(default_factory=dict)  # timeline as seen at ``end``
    commits: list[CommitRecord] = field(default_factory=list)
    reviews: list[tuple[IdentityRecord, str, datetime]] = field(default_factory=list)


def _sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-")


def _hours(h: float) -> timedelta:
    return timedelta(hours=h)


def _tz(offset: tuple[int, int]) -> timezone:
    return timezone(timedelta(hours=offset[0], minutes=offset[1]))


def _split(total: int, k: int, rng: random.Random) -> list[int]:
    """``total`` split into ``k`` non-negative integer parts that sum to it."""
    weights = [rng.random() + 0.1 for _ in range(k)]
    parts = [int(total * w / sum(weights)) for w in weights]
    parts[0] += total - sum(parts)
    return parts
