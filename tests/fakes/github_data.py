"""Deterministic, realistic GitHub histories for the fake server (tests and the request benchmark).

``populate(fake, "acme/api", prs=300, seed=1)`` adds merged, closed and open pull requests (some opened as
drafts, some by bots, some with AI trailers or agent branches, some reverts) with commits (authors in
several time zones), reviews and comments (by the author, bots and others), merge or squash commits, and
production/staging deployments.  ``big_every=N`` makes every N-th pull request large (130 commits, 105
reviews, 12 comments by its author before the first by someone else) to exercise nested pagination.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone

from tests.fakes.github import Comment, Commit, Deployment, FakeGitHub, PullRequest, Repo, Review, Team, User

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ZONES = [
    timezone(timedelta(hours=2)),
    timezone(timedelta(hours=-5)),
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
]
HUMANS = [User(f"dev{i:02d}", f"Developer {i:02d}", f"dev{i:02d}@acme.test") for i in range(1, 13)]
DEPENDABOT = User("dependabot", bot=True)
REVIEW_BOT = User("coderabbitai", bot=True)
TRAILER = "\n\nCo-authored-by: Claude <noreply@anthropic.com>"


def sha(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _commits(
    repo: Repo, number: int, author: User, opened: datetime, count: int, rng: random.Random
) -> list[Commit]:
    zone = ZONES[number % len(ZONES)]
    commits = []
    for j in range(count):
        authored = (opened - timedelta(hours=count - j, minutes=rng.randrange(60))).astimezone(zone)
        message = f"Change {j + 1} of #{number}\n\nDetails of change {j + 1}."
        if number % 9 == 0 and j == 0:
            message += TRAILER
        commits.append(
            Commit(
                sha(repo.full_name, number, j),
                message,
                authored,
                author.name or author.login,
                author.email or f"{author.login}@users.noreply.github.test",
                user=author,
                additions=rng.randrange(1, 80),
                deletions=rng.randrange(0, 20),
                parents=[sha(repo.full_name, number, j - 1) if j else sha(repo.full_name, "base", number)],
            )
        )
    return commits


def _reviews(
    number: int, author: User | None, opened: datetime, rng: random.Random, ids: list[int]
) -> tuple[list[Review], list[Comment], datetime]:
    """Reviews and comments; returns them and the time of the last one."""
    others = [h for h in HUMANS if h is not author]
    reviews: list[Review] = []
    comments: list[Comment] = []
    at = opened + timedelta(minutes=20)
    if number % 4 == 0:  # a bot reviews first: not a pickup
        reviews.append(Review(_next(ids), REVIEW_BOT, "COMMENTED", at))
    if number % 5 == 0 and author is not None:  # the author comments first: not a pickup either
        comments.append(Comment(_next(ids), author, at + timedelta(minutes=5)))
    for k in range(rng.randrange(0, 4)):
        at += timedelta(hours=rng.randrange(1, 12))
        state = "APPROVED" if k == 1 or rng.random() < 0.4 else rng.choice(["COMMENTED", "CHANGES_REQUESTED"])
        reviews.append(Review(_next(ids), rng.choice(others), state, at))
    if number % 6 == 0:
        at += timedelta(minutes=30)
        comments.append(Comment(_next(ids), rng.choice(others), at))
    if number % 11 == 0:  # a pending review (not submitted) is never counted
        reviews.append(Review(_next(ids), rng.choice(others), "PENDING", None))
    return reviews, comments, at


def _next(ids: list[int]) -> int:
    ids[0] += 1
    return ids[0]


def _make_big(pr: PullRequest, repo: Repo, rng: random.Random, ids: list[int]) -> None:
    assert pr.author is not None
    pr.commits = _commits(repo, pr.number, pr.author, pr.created_at, 130, rng)
    at = pr.created_at + timedelta(minutes=1)
    pr.comments = [Comment(_next(ids), pr.author, at + timedelta(minutes=i)) for i in range(12)]
    pr.comments.append(Comment(_next(ids), HUMANS[(pr.number + 3) % 12], at + timedelta(hours=1)))
    reviewers = [h for h in HUMANS if h is not pr.author]
    pr.reviews = [
        Review(_next(ids), reviewers[i % len(reviewers)], "COMMENTED", at + timedelta(hours=2, minutes=i))
        for i in range(104)
    ]
    pr.reviews.append(Review(_next(ids), reviewers[0], "APPROVED", at + timedelta(hours=5)))


def _land(pr: PullRequest, repo: Repo, rng: random.Random, last: datetime) -> datetime:
    merged = last + timedelta(hours=rng.randrange(1, 30))
    squash = pr.number % 2 == 0
    parents = [sha(repo.full_name, "main", pr.number)] + ([] if squash else [pr.commits[-1].oid])
    merger = HUMANS[pr.number % len(HUMANS)]
    message = (
        f"{pr.title} (#{pr.number})" if squash else f"Merge pull request #{pr.number} from acme/{pr.head}"
    )
    if squash:
        message += "".join(f"\n\n* {c.message.split(chr(10))[0]}" for c in pr.commits)
        message += TRAILER if any(TRAILER in c.message for c in pr.commits) else ""
    pr.merge_commit = Commit(
        sha(repo.full_name, "merge", pr.number),
        message,
        merged,
        merger.name,
        merger.email,
        user=merger,
        parents=parents,
    )
    pr.state, pr.merged_at, pr.closed_at = "MERGED", merged, merged
    return merged


def populate(
    fake: FakeGitHub,
    full_name: str,
    *,
    prs: int,
    seed: int = 1,
    big_every: int = 0,
    deployments: bool = True,
    start: datetime = START,
) -> Repo:
    repo = fake.repos.get(full_name.lower()) or fake.add_repo(full_name)
    rng = random.Random(seed)
    ids = [seed * 1_000_000]
    titles: dict[int, str] = {}
    for i in range(prs):
        number = len(repo.prs) + 1
        author = DEPENDABOT if number % 17 == 0 else HUMANS[rng.randrange(len(HUMANS))]
        opened = start + timedelta(hours=2 * i, minutes=rng.randrange(60))
        title, head = f"Improve part {number}", f"feature/{number}"
        if number % 13 == 0:
            head = f"copilot/fix-{number}"
        body = ""
        if number % 23 == 0 and titles:
            target = max(n for n in titles if n < number)
            title, head, body = (
                f'Revert "{titles[target]}"',
                f"revert-{target}-feature",
                f"Reverts {full_name}#{target}",
            )
        pr = PullRequest(
            number,
            title,
            author,
            opened,
            opened,
            body=body,
            head=head,
            labels=["dependencies"] if author is DEPENDABOT else [],
            commits=_commits(repo, number, author, opened, rng.randrange(1, 5), rng),
        )
        if number % 10 == 0:
            pr.ready_events = [opened + timedelta(hours=3)]
        pr.reviews, pr.comments, last = _reviews(number, author, max([opened, *pr.ready_events]), rng, ids)
        if big_every and number % big_every == 0:
            _make_big(pr, repo, rng, ids)
            last = max(r.submitted_at for r in pr.reviews if r.submitted_at)
        fate = rng.random()
        if i >= prs - 5 or fate < 0.12:
            pr.is_draft = number % 10 == 0 and i >= prs - 5
            pr.ready_events = [] if pr.is_draft else pr.ready_events
        elif fate < 0.22:
            pr.state, pr.closed_at = "CLOSED", last + timedelta(hours=1)
            last = pr.closed_at
        else:
            last = _land(pr, repo, rng, last)
            titles[number] = title
            if deployments and number % 5 == 0:
                _deploy(repo, pr, ids)
        pr.updated_at = last + timedelta(seconds=number)
        repo.prs[number] = pr
    return repo


def _deploy(repo: Repo, pr: PullRequest, ids: list[int]) -> None:
    assert pr.merge_commit is not None and pr.merged_at is not None
    at = pr.merged_at + timedelta(minutes=30)
    statuses = [("IN_PROGRESS", at), ("SUCCESS" if pr.number % 15 else "FAILURE", at + timedelta(minutes=10))]
    repo.deployments.append(Deployment(_next(ids), "production", pr.merge_commit.oid, at, statuses))
    if pr.number % 2:
        repo.deployments.append(
            Deployment(
                _next(ids), "staging", pr.merge_commit.oid, at - timedelta(minutes=5), [("SUCCESS", at)]
            )
        )


def populate_teams(fake: FakeGitHub, org: str) -> list[Team]:
    teams = [
        Team("platform", "Platform", None, [h.login for h in HUMANS[0:4]]),
        Team("payments", "Payments", "platform", [h.login for h in HUMANS[4:7]]),
        Team("web", "Web", None, [h.login for h in HUMANS[7:12]]),
    ]
    fake.teams[org.lower()] = teams
    return teams
