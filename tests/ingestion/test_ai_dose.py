"""AI dose per PR: line-level attribution from ``git notes`` (refs/notes/ai, JSON and git-ai authorship
logs) in a real git repository and from Cursor's code tracking, joined to each PR's commits by SHA; the
selector gives each PR's share of added lines written with AI, its coverage and its source."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from connectors.base import SourceConfig
from connectors.git_notes import parse_note
from connectors.local_git import LocalGitConnector
from connectors.records import CommitAIAttributionRecord
from metrics.ingestion.ai_selectors import pr_ai_share_frame
from metrics.ingestion.models import CommitAIAttribution, PullRequest
from metrics.ingestion.services import records_ingest
from tests.conftest import GitRepo

GIT_AI_LOG = """src/app.py
  a1b2c3d4 1-5,10
  e5f6a7b8 12-13
---
{"schema_version": "authorship/3.0.0", "prompts": {"a1b2c3d4": {"agent_id": {"tool": "claude", "model": "x"}},
 "e5f6a7b8": {"agent_id": {"tool": "cursor"}}}}
"""


def at(day: int, hour: int = 10) -> str:
    return f"2026-10-{day:02d}T{hour:02d}:00:00+00:00"


def build(git_repo: GitRepo) -> dict[str, str]:
    git_repo.commit("base", date=at(1), files={"README.md": 3})
    git_repo.git("checkout", "-q", "-b", "feature")
    one = git_repo.commit("one", date=at(2), files={"src/app.py": 10})
    two = git_repo.commit("two", date=at(3), files={"src/app.py": 20})
    git_repo.git("checkout", "-q", "main")
    git_repo.merge("feature", "Merge pull request #7 from alice/feature\n\nFeature", date=at(4))
    git_repo.git("checkout", "-q", "-b", "other")
    three = git_repo.commit("three", date=at(5), files={"src/b.py": 40})
    git_repo.git("checkout", "-q", "main")
    git_repo.merge("other", "Merge pull request #8 from alice/other\n\nOther", date=at(6))
    git_repo.git("notes", "--ref=ai", "add", "-m", json.dumps({"ai_lines_added": 8, "tool": "aider"}), one)
    git_repo.git("notes", "--ref=ai", "add", "-m", GIT_AI_LOG, two)
    return {"one": one, "two": two, "three": three}


def test_note_formats() -> None:
    assert parse_note('{"ai_lines_added": 3, "lines_added": 9}') == (3, 9, "")
    assert parse_note(GIT_AI_LOG) == (5 + 1 + 2, None, "claude,cursor")
    with pytest.raises(ValueError):
        parse_note("just some words")


def test_connector_reads_notes_of_the_mirror(git_repo: GitRepo) -> None:
    shas = build(git_repo)
    config = SourceConfig(kind="git", name="g", location=str(git_repo.path), options={"name": "acme/app"})
    connector = LocalGitConnector(config)
    found = {r.sha: r for r in connector.records() if isinstance(r, CommitAIAttributionRecord)}
    assert set(found) == {shas["one"], shas["two"]}
    assert (found[shas["one"]].lines_added, found[shas["one"]].ai_lines_added) == (10, 8)
    assert (found[shas["two"]].lines_added, found[shas["two"]].ai_lines_added) == (20, 8)
    assert dict(found[shas["two"]].detail) == {"tool": "claude,cursor"} and not connector.problems


@pytest.mark.django_db
def test_each_prs_ai_share_with_its_source(git_repo: GitRepo) -> None:
    shas = build(git_repo)
    call_command("import_git", str(git_repo.path), "--name", "acme/app", stdout=io.StringIO(), verbosity=0)
    assert CommitAIAttribution.objects.filter(source="git-notes").count() == 2
    records_ingest(
        records=[
            # Cursor saw PR 8's commit; and PR 7's first commit too, where the repository's note wins.
            CommitAIAttributionRecord(sha=shas["three"], source="cursor", lines_added=40, ai_lines_added=30),
            CommitAIAttributionRecord(sha=shas["one"], source="cursor", lines_added=10, ai_lines_added=1),
        ]
    )
    ids = dict(PullRequest.objects.values_list("number", "id"))
    frame = pr_ai_share_frame().set_index("pr_id")
    seven, eight = frame.loc[ids[7]], frame.loc[ids[8]]
    assert (seven.lines_added, seven.attributed_lines, seven.ai_lines_added) == (30, 30, 16)
    assert seven.ai_share == pytest.approx(16 / 30) and seven.coverage == 1.0 and seven.source == "git-notes"
    assert (eight.ai_share, eight.coverage, eight.source) == (0.75, 1.0, "cursor")
    only = pr_ai_share_frame(pr_ids=[ids[8]])
    assert list(only["pr_id"]) == [ids[8]]
