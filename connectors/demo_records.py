"""Assembling the demo organization's records and its planted truth from the generated PRs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.demo_model import (
    _PR,
    AI_CYCLE_TIME_FACTOR,
    AI_SIZE_FACTOR,
    BASE_CYCLE_HOURS,
    REVERT_P,
    SIZE_ELASTICITY,
    TREND,
    UNMARKED_SHARE,
    _Engineer,
    _sha,
    _Team,
)
from connectors.demo_vocab import BOTS, REPOS
from connectors.records import (
    PullRequestRecord,
    Record,
    RepositoryRecord,
    ReviewRecord,
    TeamMembershipRecord,
)


def merge_sha(seed: int, pr: _PR) -> str:
    return _sha(seed, pr.repo, "merge", pr.uid)


def pr_record(seed: int, pr: _PR) -> PullRequestRecord:
    t, merged = pr.t, pr.state == "merged"
    seen = [v for v in t.values() if v is not None] + [r[2] for r in pr.reviews]
    return PullRequestRecord(
        repository=f"acme/{pr.repo}",
        number=pr.number,
        title=pr.title,
        author=pr.author,
        state=pr.state,
        created_at=t["created"],
        ready_at=t["ready"],
        first_commit_at=t["first_commit"],
        first_review_at=t["first_review"],
        approved_at=t["approved"],
        merged_at=t["merged"],
        closed_at=t["merged"] or t["closed"],
        updated_at=max(seen),
        is_draft=not t["ready"],
        additions=pr.additions,
        deletions=pr.deletions,
        changed_files=pr.files,
        commits_count=len(pr.commits),
        head_branch=pr.branch,
        base_branch="main",
        merge_sha=merge_sha(seed, pr) if merged else "",
        body=pr.body,
        labels=pr.labels,
        commit_shas=tuple(c.sha for c in pr.commits),
        merge_style="squash" if merged else "",
        reverts_number=pr.reverts.number if pr.reverts is not None else None,
    )


def build_records(
    seed: int, teams: list[_Team], engineers: list[_Engineer], all_prs: list[_PR]
) -> list[Record]:
    """Repositories, memberships, commits, PRs and reviews, in a stable order."""
    out: list[Record] = [
        RepositoryRecord(
            f"acme/{r}", host="github", default_branch="main", url=f"https://github.example/acme/{r}"
        )
        for r in REPOS
    ]
    out += [
        TeamMembershipRecord(
            team=teams[team].name,
            identities=(e.ident,),
            person_name=e.ident.name,
            parent_team=teams[team].parent,
            start=start,
            end=end,
        )
        for e in engineers
        for team, start, end in e.spans
    ]
    prs = sorted(all_prs, key=lambda p: (p.repo, p.number))
    out += [c for p in prs for c in p.commits]
    out += [pr_record(seed, p) for p in prs]
    out += [
        ReviewRecord(
            repository=f"acme/{p.repo}",
            pr_number=p.number,
            reviewer=who,
            state=state,
            submitted_at=when,
            external_id=f"demo-{_sha(seed, p.repo, p.number, i)[:16]}",
        )
        for p in prs
        for i, (who, state, when) in enumerate(p.reviews)
    ]
    return out


def build_truth(
    seed: int,
    start: datetime,
    end: datetime,
    teams: list[_Team],
    engineers: list[_Engineer],
    prs: list[_PR],
    moves: list[dict[str, Any]],
) -> dict[str, Any]:
    """The planted parameters and exact counts that Sextant's numbers can be checked against."""
    merged = [p for p in prs if p.state == "merged"]
    ai = [p for p in prs if p.ai]
    reverted = [p.reverts for p in prs if p.reverts is not None]
    counts = {
        "prs": len(prs),
        "merged_prs": len(merged),
        "merged_prs_bot": sum(p.is_bot for p in merged),
        "open_prs": sum(p.state == "open" for p in prs),
        "closed_prs": sum(p.state == "closed" for p in prs),
        "commits": sum(len(p.commits) for p in prs),
        "reviews": sum(len(p.reviews) for p in prs),
        "ai_assisted_prs": len(ai),
        "ai_assisted_merged_prs": sum(p.state == "merged" for p in ai),
        "ai_assisted_marked_prs": sum(bool(p.mark) for p in prs),
        "ai_assisted_marked_merged_prs": sum(bool(p.mark) for p in merged),
        "ai_assisted_unmarked_prs": sum(not p.mark for p in ai),
        "reverts": len(reverted),
        "reverted_ai_prs": sum(p.ai for p in reverted),
        "repositories": len(REPOS),
        "engineers": len(engineers),
        "bots": len(BOTS),
        "memberships": sum(len(e.spans) for e in engineers),
        "team_changes": len(moves),
    }
    team_rows = [
        {
            "name": t.name,
            "parent": t.parent,
            "home_repository": f"acme/{t.repo}",
            "ai_adoption": t.adoption.isoformat() if t.adoption else None,
            "primary_ai_tool": t.tool,
            "cycle_time_effect": round(t.effect, 4),
        }
        for t in teams
    ]
    return {
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "teams": team_rows,
        "team_changes": moves,
        "ai_cycle_time_factor": AI_CYCLE_TIME_FACTOR,
        "ai_size_factor": AI_SIZE_FACTOR,
        "size_elasticity": SIZE_ELASTICITY,
        "base_cycle_hours": BASE_CYCLE_HOURS,
        "trend": TREND,
        "revert_probability": dict(REVERT_P),
        "unmarked_share": UNMARKED_SHARE,
        "unmarked_share_actual": round(counts["ai_assisted_unmarked_prs"] / len(ai), 4) if ai else None,
        # AI-assisted PRs that carry no mark: detection cannot see them (coverage is a lower bound).
        "unmarked_ai_prs": sorted(f"acme/{p.repo}#{p.number}" for p in ai if not p.mark),
        "notes": "ai_cycle_time_factor applies to every AI-assisted PR, marked or not; an estimate "
        "from detected (marked) PRs only is attenuated toward 1.",
        "counts": counts,
    }
