"""The people of the demo organization: its teams (adoption order, time zones, tools) and its engineers
(names, home teams, rates, AI habits), a few of whom join late, leave or move team (``demo.py`` runs
these first, from the generator's one random stream)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from connectors.demo_model import DOMAIN, WEEKLY_PR_RATE, _Engineer, _Team, _tz
from connectors.demo_vocab import FIRST, LAST, TEAM_POOL, TRAILERS, TZ_OFFSETS
from connectors.records import IdentityRecord

if TYPE_CHECKING:
    from connectors.demo import _Generator


def build_teams(gen: _Generator, n: int) -> None:
    """``n`` teams from the pool, each with a time zone, an AI tool, an adoption date (the last ones never
    adopt) and a cycle-time effect (early adopters are faster)."""
    rng = gen.rng
    pool = [TEAM_POOL[i % len(TEAM_POOL)] for i in range(n)]
    order = rng.sample(range(n), n)  # adoption order; the last ones never adopt
    never = 2 if n >= 6 else min(1, n - 1)
    adopting = n - never
    for i, (parent, name, repo) in enumerate(pool):
        rank = order.index(i)
        adoption = None
        if rank < adopting:
            share = 0.1 + 0.55 * rank / max(1, adopting - 1)
            adoption = gen.at(share) + timedelta(days=rng.randint(-7, 7))
        gen.teams.append(
            _Team(
                name=name if i < len(TEAM_POOL) else f"{name} {i // len(TEAM_POOL) + 1}",
                parent=parent,
                repo=repo,
                tz=_tz(rng.choice(TZ_OFFSETS)),
                adoption=adoption,
                tool=rng.choice(list(TRAILERS)),
                effect=-0.3 + 0.6 * rank / max(1, n - 1) + rng.gauss(0, 0.04),  # early adopters are faster
            )
        )


def build_engineers(gen: _Generator, n: int) -> None:
    """``n`` engineers with names, home teams, time zones, PR rates and AI habits; some change team."""
    rng, teams = gen.rng, len(gen.teams)
    combos = rng.sample(range(len(FIRST) * len(LAST)), n)
    sizes = [rng.uniform(0.6, 1.6) for _ in range(teams)]
    seeded = min(n, 3 * teams)
    home = [i % teams for i in range(seeded)] + rng.choices(range(teams), sizes, k=n - seeded)
    for combo, team in zip(combos, home, strict=True):
        first, last = FIRST[combo // len(LAST)], LAST[combo % len(LAST)]
        ident = IdentityRecord(
            f"{first} {last}", f"{first}.{last}@{DOMAIN}".lower(), f"{first}-{last}".lower()
        )
        tz = gen.teams[team].tz if rng.random() < 0.8 else _tz(rng.choice(TZ_OFFSETS))
        joined = gen.start - timedelta(days=rng.randint(30, 1500))
        gen.engineers.append(
            _Engineer(
                ident=ident,
                tz=tz,
                rate=WEEKLY_PR_RATE * rng.lognormvariate(-0.125, 0.5),
                effect=rng.gauss(0, 0.25),
                ai_lag=None if rng.random() < 0.2 else rng.expovariate(1 / 30),
                ai_p=rng.uniform(0.4, 0.95),
                spans=[(team, joined, None)],
            )
        )
    change_teams(gen, n)
    for eng in gen.engineers:
        for team, _, _ in eng.spans:
            gen.members.setdefault(team, []).append(eng)


def change_teams(gen: _Generator, n: int) -> None:
    """About 10% join late, 5% leave and 7% move team partway through the period."""
    rng = gen.rng
    picked = rng.sample(range(n), n)
    hires, leavers = picked[: n // 10], picked[n // 10 : n // 10 + n // 20]
    movers = picked[n // 10 + n // 20 : n // 10 + n // 20 + max(1, round(n * 0.07))]
    for i in hires:
        team = gen.engineers[i].spans[0][0]
        gen.engineers[i].spans = [(team, gen.at(rng.uniform(0.1, 0.7)), None)]
    for i in leavers:
        team, joined, _ = gen.engineers[i].spans[0]
        gen.engineers[i].spans = [(team, joined, gen.at(rng.uniform(0.4, 0.9)))]
    for i in movers if len(gen.teams) > 1 else []:
        team, joined, _ = gen.engineers[i].spans[0]
        new = rng.choice([t for t in range(len(gen.teams)) if t != team])
        moved = gen.at(rng.uniform(0.25, 0.75))
        gen.engineers[i].spans = [(team, joined, moved), (new, moved, None)]
        gen.moves.append(
            {
                "person": gen.engineers[i].ident.name,
                "from": gen.teams[team].name,
                "to": gen.teams[new].name,
                "at": moved.isoformat(),
            }
        )
