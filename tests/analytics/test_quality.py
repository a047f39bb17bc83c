"""find_reverts on small frames, one rule at a time."""

from __future__ import annotations

import pandas as pd

from metrics.analytics import quality


def t(day: int) -> pd.Timestamp:
    return pd.Timestamp(2024, 5, day, tz="UTC")


def prs(*rows: dict) -> pd.DataFrame:
    base = {"state": "merged", "head_branch": "", "merge_sha": "", "body": "", "reverts_number": None}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["merged_at"] = pd.to_datetime(frame["merged_at"], utc=True)
    return frame


NO_COMMITS = pd.DataFrame(columns=["sha", "message", "committed_at", "on_default_branch"])
NO_LINKS = pd.DataFrame(columns=["number", "sha"])


def test_each_pr_level_rule_links_the_reverted_pr() -> None:
    frame = prs(
        {"number": 1, "title": "Add cache", "merged_at": t(1)},
        {"number": 2, "title": 'Revert "Add cache"', "merged_at": t(2)},
        {"number": 3, "title": "Speed up", "merged_at": t(3), "merge_sha": "abcdef1234567890"},
        {"number": 4, "title": "Undo", "merged_at": t(4), "body": "Reverts acme/app#3"},
        {"number": 5, "title": "Thing (#5)", "merged_at": t(5)},
        {"number": 6, "title": "Back out", "merged_at": t(6), "head_branch": "revert-5-thing"},
        {"number": 7, "title": "Other", "merged_at": t(7), "merge_sha": "0123456789abcdef"},
        {"number": 8, "title": "GitLab revert", "merged_at": t(8), "head_branch": "revert-01234567"},
        {"number": 9, "title": "Old", "merged_at": t(9)},
        {"number": 10, "title": "Explicit", "merged_at": t(10), "reverts_number": 9},
    )
    found = quality.find_reverts(prs=frame, commits=NO_COMMITS, pr_commits=NO_LINKS)
    pairs = {(int(r.reverting_number), int(r.reverted_number), r.evidence) for r in found.itertuples()}
    assert pairs == {
        (2, 1, "title"),
        (4, 3, "reverts_ref"),
        (6, 5, "branch"),
        (8, 7, "branch"),
        (10, 9, "explicit"),
    }
    assert found["restored_at"].isna().all()


def test_revert_of_revert_restores_and_a_pr_never_reverts_itself() -> None:
    frame = prs(
        {"number": 1, "title": "Feature", "merged_at": t(1)},
        {"number": 2, "title": 'Revert "Feature"', "merged_at": t(2)},
        {"number": 3, "title": 'Revert "Revert "Feature""', "merged_at": t(3)},
        {"number": 4, "title": "Self", "merged_at": t(4), "reverts_number": 4},
    )
    found = quality.find_reverts(prs=frame, commits=NO_COMMITS, pr_commits=NO_LINKS)
    assert found["reverted_number"].tolist() == [1]
    assert found["restored_at"].tolist() == [t(3)]


def test_a_revert_before_the_merge_is_not_a_revert_of_merged_work() -> None:
    frame = prs(
        {"number": 1, "title": "Late", "merged_at": t(5)},
        {"number": 2, "title": 'Revert "Late"', "merged_at": t(2)},
    )
    assert quality.find_reverts(prs=frame, commits=NO_COMMITS, pr_commits=NO_LINKS).empty
