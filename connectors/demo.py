"""A deterministic demo organization with planted, documented truths.

Teams in a small tree, engineers (a few change team), bots, repositories and about 18 months of
pull requests, commits and reviews.  Everything derives from one seed, so the same seed always
gives the same records and the numbers in ``truth`` can be checked against what Sextant recovers.

The cycle-time model (first commit -> merge, hours) is log-linear::

    log T = log(BASE) + SIZE_ELASTICITY * (log1p(lines) - log1p(150)) + team + author
            + TREND * (share of the period elapsed) + log(AI_CYCLE_TIME_FACTOR) * ai + N(0, NOISE)

with confounding on purpose: AI users open smaller PRs (``AI_SIZE_FACTOR``) and the teams that
adopt AI early are already faster (their ``team`` effect is lower).  AI use is staggered by team,
and ``UNMARKED_SHARE`` of AI-assisted PRs leave no trace, so detection is a lower bound.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from connectors.demo_delivery import build_delivery
from connectors.demo_events import bot_prs, reverts
from connectors.demo_extras import DemoExtras, build_extras
from connectors.demo_model import (
    _PR,
    ABANDON_P,
    AI_CYCLE_TIME_FACTOR,
    AI_SIZE_FACTOR,
    BASE_CYCLE_HOURS,
    DEFAULT_END,
    DEFAULT_SEED,
    NOISE,
    SIZE_ELASTICITY,
    TREND,
    UNMARKED_SHARE,
    _Engineer,
    _hours,
    _sha,
    _slug,
    _split,
    _Team,
)
from connectors.demo_people import build_engineers, build_teams
from connectors.demo_records import build_records, build_truth, merge_sha
from connectors.demo_vocab import (
    BRANCH_PREFIXES,
    FOLLOW_UPS,
    LABELS,
    OBJECTS,
    QUALIFIERS,
    REPOS,
    TRAILERS,
    VERBS,
)
from connectors.records import CommitRecord, IdentityRecord, Record


@dataclass(frozen=True)
class DemoOrganization:
    records: list[Record]
    truth: dict[str, Any]
    extras: DemoExtras = field(default_factory=DemoExtras)  # survey rounds, seat counts, seat prices


class _Generator:
    def __init__(self, seed: int, end: datetime, months: int) -> None:
        self.seed, self.rng, self.end = seed, random.Random(seed), end.astimezone(UTC)
        self.start = self.end - timedelta(days=round(months * 30.44))
        self.teams: list[_Team] = []
        self.engineers: list[_Engineer] = []
        self.prs: list[_PR] = []
        self.titles: set[str] = set()
        self.moves: list[dict[str, Any]] = []
        self.members: dict[int, list[_Engineer]] = {}  # everyone who was ever in the team

    def at(self, share: float) -> datetime:
        """The day (midnight UTC) at ``share`` of the period."""
        t = self.start + (self.end - self.start) * share
        return t.replace(hour=0, minute=0, second=0, microsecond=0)

    def new_uid(self) -> int:
        return len(self.prs) + 1

    def unique_title(self, title: str) -> str:
        candidate, part = title, 1
        while candidate in self.titles:
            part += 1
            candidate = f"{title} (part {part})"
        self.titles.add(candidate)
        return candidate

    def working_time(self, t: datetime, tz: timezone) -> datetime:
        """``t`` moved into working hours of its local day, weekends mostly pushed to Monday."""
        day = t.astimezone(tz).date()
        if day.weekday() >= 5 and self.rng.random() < 0.9:
            day += timedelta(days=7 - day.weekday())
        hour = min(19.5, max(8.0, self.rng.gauss(13.5, 2.5)))
        return (datetime(day.year, day.month, day.day, tzinfo=tz) + _hours(hour)).astimezone(UTC)

    def uses_ai(self, eng: _Engineer, team: int, t: datetime) -> bool:
        adoption = self.teams[team].adoption
        if adoption is None or eng.ai_lag is None:
            return False
        days = (t - adoption).total_seconds() / 86400 - eng.ai_lag
        # An engineer's use ramps up over their first three months with the tool.
        return days >= 0 and self.rng.random() < eng.ai_p * min(1.0, 0.35 + 0.65 * days / 90)

    def human_prs(self) -> None:
        for idx, eng in enumerate(self.engineers):
            last_end = eng.spans[-1][2]
            stop = min(self.end, last_end) if last_end is not None else self.end
            t = max(self.start, eng.spans[0][1]) + timedelta(days=self.rng.expovariate(eng.rate / 7))
            while t < stop:
                created = self.working_time(t, eng.tz)
                team = eng.team_at(created)
                if self.start <= created <= self.end and team is not None:
                    self.human_pr(idx, team, created)
                t += timedelta(days=self.rng.expovariate(eng.rate / 7))

    def human_pr(self, idx: int, team: int, created: datetime) -> None:
        rng, eng, tm = self.rng, self.engineers[idx], self.teams[team]
        ai = self.uses_ai(eng, team, created)
        size = rng.lognormvariate(math.log(70), 1.1) * (AI_SIZE_FACTOR if ai else 1.0)
        additions = min(20000, max(1, int(size)))
        deletions = int(additions * rng.lognormvariate(math.log(0.4), 0.9))
        lines = additions + deletions
        share = (created - self.start) / (self.end - self.start)
        log_hours = (
            math.log(BASE_CYCLE_HOURS)
            + SIZE_ELASTICITY * (math.log1p(lines) - math.log1p(150))
            + self.teams[eng.spans[0][0]].effect
            + eng.effect
            + TREND * share  # speed moves with people
            + (math.log(AI_CYCLE_TIME_FACTOR) if ai else 0.0)
            + rng.gauss(0, NOISE)
        )
        verb = rng.choice(VERBS)
        title = self.unique_title(f"{verb} {rng.choice(OBJECTS)}{rng.choice(QUALIFIERS)}")
        tool = (tm.tool if rng.random() < 0.7 else rng.choice(list(TRAILERS))) if ai else ""
        mark = "" if not ai or rng.random() < UNMARKED_SHARE else "trailer"
        if mark and tool in BRANCH_PREFIXES and rng.random() < 0.4:
            mark = "branch"
        prefix = rng.choice((f"{eng.ident.login}/", "feature/", "fix/"))
        prefix = BRANCH_PREFIXES[tool] if mark == "branch" else prefix
        pr = _PR(
            uid=self.new_uid(),
            repo=tm.repo if rng.random() < 0.75 else rng.choice(REPOS),
            author=eng.ident,
            tz=eng.tz,
            team=team,
            created=created,
            title=title,
            branch=prefix + _slug(title),
            additions=additions,
            deletions=deletions,
            files=max(1, round(math.exp(0.55 * math.log1p(lines) - 0.9 + rng.gauss(0, 0.45)))),
            labels=(LABELS[verb],) if verb in LABELS and rng.random() < 0.6 else (),
            body=f"## Summary\n{title}.\n\nTracked in ACME-{rng.randint(1000, 9999)}.",
            ai=ai,
            tool=tool,
            mark=mark,
        )
        draft, rework = rng.random() < 0.15, rng.random() < 0.65
        times = self.timeline(created, math.exp(log_hours), draft=draft, rework=rework)
        self.finish(pr, times, abandon=rng.random() < ABANDON_P)

    def timeline(self, created: datetime, hours: float, *, draft: bool, rework: bool) -> dict[str, datetime]:
        """Split ``hours`` of cycle time into coding, pickup, rework and merge wait (ends at the merge)."""
        w = [self.rng.gammavariate(4 * a, 1.0) for a in (0.35, 0.3, 0.2, 0.15)]
        if not rework:
            w[2] = 0.0
        coding, pickup, rework_h, wait = (hours * x / sum(w) for x in w)
        first_review = created + _hours(pickup)
        approved = first_review + _hours(rework_h)
        return {
            "first_commit": created - _hours(coding),
            "created": created,
            "ready": created + _hours(pickup * self.rng.uniform(0.3, 0.8)) if draft else created,
            "first_review": first_review,
            "approved": approved,
            "merged": approved + _hours(wait),
        }

    def finish(self, pr: _PR, times: dict[str, datetime], *, abandon: bool) -> None:
        """Commits and reviews from the full timeline; then whatever happens after ``end`` is cut off."""
        full: dict[str, datetime | None] = {**times, "closed": None}
        review = times["first_review"]
        if abandon:
            closed = pr.created + timedelta(days=self.rng.expovariate(1 / 21))  # stale PRs linger
            full.update(closed=closed, approved=None, merged=None)
            full["first_review"] = review if review <= closed else None
            full["ready"] = times["ready"] if times["ready"] <= closed else None  # closed while still a draft
        pr.t = {k: v if v is not None and v <= self.end else None for k, v in full.items()}
        pr.state = "merged" if pr.t["merged"] else "closed" if pr.t["closed"] else "open"
        rework_end = full["approved"] or full["closed"] or review
        self.make_commits(pr, times["first_commit"], full["first_review"] or rework_end, rework_end)
        if full["first_review"] is not None:
            self.make_reviews(pr, review, full["approved"])
        pr.reviews = [r for r in pr.reviews if r[2] <= self.end]
        pr.commits = [c for c in pr.commits if c.authored_at is not None and c.authored_at <= self.end]
        self.prs.append(pr)

    def make_commits(self, pr: _PR, first: datetime, review: datetime, rework_end: datetime) -> None:
        """1..15 commits: most before the PR opens, some after the first review (rework)."""
        rng = self.rng
        lines = pr.additions + pr.deletions
        extra = int(rng.expovariate(1.0) * (0.8 + 0.6 * math.log1p(lines / 20)))
        k = 1 if pr.is_bot or pr.reverts else 1 + min(14, extra)
        after = min(k - 1, rng.randint(1, 2)) if rework_end > review else 0
        times = [first, *sorted(first + (pr.created - first) * rng.random() for _ in range(k - 1 - after))]
        times += sorted(review + (rework_end - review) * rng.random() for _ in range(after))
        adds, dels = _split(pr.additions, k, rng), _split(pr.deletions, k, rng)
        parent = _sha(self.seed, pr.repo, "base", pr.uid)
        for i, when in enumerate(times):
            sha = _sha(self.seed, pr.repo, pr.uid, i)
            local = when.astimezone(pr.tz)
            pr.commits.append(
                CommitRecord(
                    repository=f"acme/{pr.repo}",
                    sha=sha,
                    parents=(parent,),
                    author=pr.author,
                    committer=pr.author,
                    authored_at=local,
                    committed_at=local + timedelta(seconds=rng.randint(0, 900)),
                    message=self.message(pr, i),
                    additions=adds[i],
                    deletions=dels[i],
                    changed_files=max(
                        1, min(pr.files, round(pr.files * (adds[i] + dels[i] + 1) / (lines + 1)))
                    ),
                    on_default_branch=pr.state == "merged",
                )
            )
            parent = sha

    def message(self, pr: _PR, i: int) -> str:
        rng = self.rng
        if pr.reverts is not None:
            return f'Revert "{pr.reverts.title}"\n\nThis reverts commit {self.merge_sha(pr.reverts)}.'
        if pr.is_bot:
            return f"{pr.title}\n\n{pr.body}\n\nSigned-off-by: {pr.author.name} <support@github.com>"
        text = pr.title if i == 0 else rng.choice(FOLLOW_UPS)
        if pr.mark == "trailer" and (i == 0 or rng.random() < 0.5):
            generated = "Generated with [Claude Code](https://claude.com/claude-code)\n\n"
            extra = generated if pr.tool == "Claude Code" and rng.random() < 0.5 else ""
            return f"{text}\n\n{extra}{TRAILERS[pr.tool]}"
        if rng.random() < 0.03:  # pair programming: a human co-author is no AI evidence
            other = rng.choice(self.engineers).ident
            if other is not pr.author:
                return f"{text}\n\nCo-authored-by: {other.name} <{other.email}>"
        return text

    def make_reviews(self, pr: _PR, review: datetime, approved: datetime | None) -> None:
        rng = self.rng
        first, second = self.reviewers(pr, review)
        if approved is None:
            pr.reviews.append((first, "COMMENTED", review))
        elif approved == review:
            pr.reviews.append((first, "APPROVED", review))
        else:
            pr.reviews.append((first, "CHANGES_REQUESTED" if rng.random() < 0.35 else "COMMENTED", review))
            pr.reviews += [
                (rng.choice((first, second)), "COMMENTED", review + (approved - review) * rng.random())
                for _ in range(rng.randint(0, 2))
            ]
            pr.reviews.append((first if rng.random() < 0.7 else second, "APPROVED", approved))
        pr.reviews.sort(key=lambda r: r[2])

    def reviewers(self, pr: _PR, when: datetime) -> tuple[IdentityRecord, IdentityRecord]:
        """Two reviewers, teammates of the author when there are any."""
        members = self.members.get(pr.team, []) if pr.team is not None else []
        pool = [e.ident for e in members if e.ident is not pr.author and e.team_at(when) == pr.team]
        if not pool:
            others = [e for e in self.engineers if e.ident is not pr.author]
            pool = [e.ident for e in others if e.team_at(when) is not None] or [e.ident for e in others]
        first = self.rng.choice(pool)
        rest = [i for i in pool if i is not first]
        return first, self.rng.choice(rest) if rest else first

    def merge_sha(self, pr: _PR) -> str:
        return merge_sha(self.seed, pr)

    def active(self, when: datetime) -> list[IdentityRecord]:
        return [e.ident for e in self.engineers if e.team_at(when) is not None]

    def number(self) -> None:
        """PR numbers per repository in creation order (repositories had PRs before the period)."""
        for repo in REPOS:
            first = self.rng.randint(40, 900)
            ordered = sorted((p for p in self.prs if p.repo == repo), key=lambda p: (p.created, p.uid))
            for i, pr in enumerate(ordered):
                pr.number = first + i
        for pr in self.prs:
            if pr.reverts is not None:
                orig = pr.reverts
                pr.branch = f"revert-{orig.number}-{_slug(orig.branch, 60)}"
                pr.body = f"Reverts acme/{pr.repo}#{orig.number}\n\nThis broke {self.rng.choice(OBJECTS)}."

    def records(self) -> list[Record]:
        return build_records(self.seed, self.teams, self.engineers, self.prs)

    def truth(self) -> dict[str, Any]:
        return build_truth(self.seed, self.start, self.end, self.teams, self.engineers, self.prs, self.moves)

    def extras(self) -> DemoExtras:
        return build_extras(self.seed, self.start, self.end, self.teams, self.engineers, self.prs)


def generate_demo(
    seed: int = DEFAULT_SEED,
    *,
    end: datetime | None = None,
    teams: int = 8,
    engineers: int = 60,
    months: int = 18,
) -> DemoOrganization:
    """The demo organization for ``seed``: the same arguments always give the same records and truth."""
    end = end or DEFAULT_END
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    if teams < 1 or engineers < 2 or months < 1:
        raise ValueError("the demo needs teams >= 1, engineers >= 2 and months >= 1")
    gen = _Generator(seed, end, months)
    build_teams(gen, teams)
    build_engineers(gen, engineers)
    gen.human_prs()
    bot_prs(gen)
    reverts(gen)
    gen.number()
    extras = gen.extras()
    delivery, delivery_truth = build_delivery(seed, gen.start, gen.end, gen.prs)  # deployments, incidents
    truth = {**gen.truth(), "surveys_and_seats": extras.truth, "delivery": delivery_truth}
    return DemoOrganization(records=[*gen.records(), *extras.seats, *delivery], truth=truth, extras=extras)
