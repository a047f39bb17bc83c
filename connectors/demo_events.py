"""Demo PRs beyond the engineers' own work: weekly dependency bumps by bots, and reverts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from connectors.demo_model import _PR, REVERT_P, _hours
from connectors.demo_vocab import BOTS, PACKAGES, REPOS
from connectors.records import IdentityRecord

if TYPE_CHECKING:
    from connectors.demo import _Generator


def bot_prs(gen: _Generator) -> None:
    """Weekly dependency bumps (Monday morning UTC); about a quarter are superseded and closed."""
    versions: dict[tuple[str, str], list[int]] = {}
    week = gen.start + timedelta(days=(7 - gen.start.weekday()) % 7)
    while week < gen.end:
        for r, repo in enumerate(REPOS):
            for _ in range(gen.rng.choices((0, 1, 2, 3), (0.45, 0.3, 0.15, 0.1))[0]):
                _bot_pr(gen, repo, BOTS[r % 2], week + _hours(gen.rng.uniform(5, 6)), versions)
        week += timedelta(days=7)


def _bot_pr(
    gen: _Generator,
    repo: str,
    bot: IdentityRecord,
    created: datetime,
    versions: dict[tuple[str, str], list[int]],
) -> None:
    rng = gen.rng
    pkg = rng.choice(PACKAGES[repo])
    v = versions.setdefault((repo, pkg), [rng.randint(1, 9), rng.randint(0, 20), rng.randint(0, 9)])
    old, roll = ".".join(map(str, v)), rng.random()
    v[:] = [v[0] + 1, 0, 0] if roll < 0.05 else [v[0], v[1] + 1, 0] if roll < 0.3 else [*v[:2], v[2] + 1]
    new = ".".join(map(str, v))
    if bot is BOTS[0]:
        title, branch = f"Bump {pkg} from {old} to {new}", f"dependabot/{repo}/{pkg}-{new}"
    else:
        title, branch = f"Update dependency {pkg} to v{new}", f"renovate/{pkg}-{v[0]}.x"
    home = [i for i, t in enumerate(gen.teams) if t.repo == repo]
    review = created + _hours(rng.lognormvariate(math.log(20), 1.0))
    approved = review
    times = {
        "first_commit": created - timedelta(minutes=2),
        "created": created,
        "ready": created,
        "first_review": review,
        "approved": approved,
        "merged": approved + _hours(rng.lognormvariate(math.log(0.5), 0.8)),
    }
    additions = max(1, int(rng.lognormvariate(math.log(8), 1.0)))
    pr = _PR(
        uid=gen.new_uid(),
        repo=repo,
        author=bot,
        tz=UTC,
        team=home[0] if home else None,
        created=created,
        title=gen.unique_title(title),
        branch=branch,
        additions=additions,
        deletions=additions,
        files=rng.randint(1, 2),
        labels=("dependencies",),
        body=f"Bumps {pkg} from {old} to {new}.",
        is_bot=True,
    )
    gen.finish(pr, times, abandon=rng.random() < 0.25)


def reverts(gen: _Generator) -> None:
    """Some merged PRs are reverted hours to days later by a quick revert PR."""
    rng = gen.rng
    for pr in list(gen.prs):
        p = REVERT_P["bot"] if pr.is_bot else REVERT_P["ai"] if pr.ai else REVERT_P["base"]
        merged = pr.t["merged"]
        if merged is None or rng.random() >= p:
            continue
        created = merged + _hours(rng.lognormvariate(math.log(16), 1.0))
        review = created + _hours(rng.lognormvariate(math.log(0.7), 0.8))
        done = review + _hours(rng.lognormvariate(math.log(0.3), 0.8))
        if done > gen.end:
            continue  # an unmerged revert is not a revert
        author = pr.author
        if pr.is_bot or rng.random() < 0.35 or pr.author not in gen.active(created):
            author = gen.reviewers(pr, created)[0]
        eng = next(e for e in gen.engineers if e.ident is author)
        revert = _PR(
            uid=gen.new_uid(),
            repo=pr.repo,
            author=author,
            tz=eng.tz,
            team=eng.team_at(created),
            created=created,
            title=gen.unique_title(f'Revert "{pr.title}"'),
            branch="",
            additions=pr.deletions,
            deletions=pr.additions,
            files=pr.files,
            reverts=pr,
        )
        times = {
            "first_commit": created - timedelta(minutes=rng.uniform(2, 20)),
            "created": created,
            "ready": created,
            "first_review": review,
            "approved": review,
            "merged": done,
        }
        gen.finish(revert, times, abandon=False)
