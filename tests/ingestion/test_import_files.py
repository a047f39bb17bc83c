"""``import_prs`` and ``import_teams``: file -> connector -> records_ingest, all or nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from metrics.core.models import Identity, Person, Repository, Team, TeamMembership
from metrics.ingestion.models import MetricSnapshot, PullRequest

pytestmark = pytest.mark.django_db

PR_CSV = """repository,number,title,author,created_at,merged_at,closed_at,additions,labels,reverts,ai_tool
acme/api,1,Add retries,ada,2024-05-01T09:00:00+02:00,2024-05-02T10:00:00Z,,120,backend;perf,,
acme/api,2,Undo retries,ada@example.com,2024-05-03T09:00:00Z,2024-05-03T12:00:00Z,,5,,1,
acme/web,7,Try a thing,bob,2024-05-04T09:00:00Z,,2024-05-05T09:00:00Z,3,,,claude
"""


def run(command: str, path: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def prs_csv(tmp_path: Path) -> Path:
    path = tmp_path / "prs.csv"
    path.write_text(PR_CSV, encoding="utf-8")
    return path


class TestImportPrs:
    def test_csv_is_stored(self, prs_csv: Path) -> None:
        out, err = run("import_prs", prs_csv)
        assert "Imported 3 pull requests" in out and "3 new, 0 updated" in out
        assert err == ""
        assert sorted(Repository.objects.values_list("full_name", flat=True)) == ["acme/api", "acme/web"]
        first = PullRequest.objects.get(repository__full_name="acme/api", number=1)
        assert (first.title, first.state, first.additions, first.labels) == (
            "Add retries",
            "merged",
            120,
            ["backend", "perf"],
        )
        assert first.created_at == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
        assert first.merge_style == "file"
        revert = PullRequest.objects.get(repository__full_name="acme/api", number=2)
        assert revert.reverts_number == 1
        first.refresh_from_db()
        assert first.reverted_at is not None  # the explicit link was derived into a revert
        tried = PullRequest.objects.get(repository__full_name="acme/web", number=7)
        assert (tried.state, tried.ai_assisted, tried.ai_tools) == ("closed", True, ["claude"])
        assert Identity.objects.get(key="login:ada").person.display_name == "ada"

    def test_jsonl_is_stored(self, tmp_path: Path) -> None:
        path = tmp_path / "prs.jsonl"
        base = {"repository": "acme/api", "author": "cy", "created_at": "2024-05-01T09:00:00Z"}
        rows = [
            {
                **base,
                "number": 3,
                "title": "Fix",
                "merged_at": "2024-05-01T11:00:00Z",
                "labels": ["bug"],
                "additions": 4,
            },
            {**base, "number": 4, "title": "Open", "merged_at": None},
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        out, _ = run("import_prs", path)
        assert "2 new, 0 updated" in out
        assert dict(PullRequest.objects.values_list("number", "state")) == {3: "merged", 4: "open"}
        assert PullRequest.objects.get(number=3).labels == ["bug"]

    def test_reimport_updates_without_duplicates(self, prs_csv: Path) -> None:
        run("import_prs", prs_csv)
        prs_csv.write_text(PR_CSV.replace("Add retries", "Add retries (v2)"), encoding="utf-8")
        out, _ = run("import_prs", prs_csv)
        assert "0 new, 3 updated" in out
        assert PullRequest.objects.count() == 3
        assert PullRequest.objects.get(number=1).title == "Add retries (v2)"
        assert Person.objects.count() == 3  # ada (login), ada@example.com, bob: not duplicated either

    def test_one_bad_row_stores_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "prs.csv"
        path.write_text(PR_CSV + "acme/api,9,Bad,ada,2024-05-06T09:00:00,,,-1,,,\n", encoding="utf-8")
        with pytest.raises(CommandError) as info:
            run("import_prs", path)
        message = str(info.value)
        assert message.startswith(f"{path}: 2 problems")
        assert "line 5, column 'created_at'" in message and "line 5, column 'additions'" in message
        assert "\n" not in message  # one line on stderr
        assert PullRequest.objects.count() == 0
        assert Repository.objects.count() == 0

    def test_missing_column_names_it(self, tmp_path: Path) -> None:
        path = tmp_path / "prs.csv"
        path.write_text("repository,number,title,created_at\nacme/api,1,T,2024-05-01T09:00:00Z\n")
        with pytest.raises(CommandError, match="missing required column\\(s\\) 'author'"):
            run("import_prs", path)
        assert PullRequest.objects.count() == 0

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(CommandError, match="no such file"):
            run("import_prs", tmp_path / "nope.csv")


TEAMS_CSV = """team,parent_team,name,email,login,start,end
Checkout,Product,Ada Lovelace,ada@old.example,,2023-01-01,2024-01-01
Payments,Product,,ada@new.example,ada,2024-01-01,
Payments,Product,,ADA@old.example,ada,2024-01-01,
Search,,Bob,bob@example.com,,,
"""


class TestImportTeams:
    def test_one_person_many_identities_dated_memberships(self, tmp_path: Path) -> None:
        path = tmp_path / "teams.csv"
        path.write_text(TEAMS_CSV, encoding="utf-8")
        with pytest.raises(CommandError, match="line 4, column 'start': the same person, team 'Payments'"):
            run("import_teams", path)
        path.write_text(TEAMS_CSV.replace("ADA@old.example,ada,2024-01-01", "ADA@old.example,ada,2024-07-01"))
        out, _ = run("import_teams", path)
        assert "Imported 4 memberships of 2 people in 3 teams" in out
        ada = Person.objects.get(display_name="Ada Lovelace")
        assert sorted(ada.identities.values_list("key", flat=True)) == [
            "email:ada@new.example",
            "email:ada@old.example",
            "login:ada",
        ]
        assert Person.objects.count() == 2 and Identity.objects.count() == 4
        memberships = TeamMembership.objects.filter(person=ada).select_related("team")
        spans = sorted((m.team.name, m.start, m.end) for m in memberships)
        assert spans == [
            ("Checkout", datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
            ("Payments", datetime(2024, 1, 1, tzinfo=UTC), None),
            ("Payments", datetime(2024, 7, 1, tzinfo=UTC), None),
        ]
        assert Team.objects.get(name="Payments").parent == Team.objects.get(name="Product")
        assert Team.objects.get(name="Search").parent is None

    def test_reimport_is_idempotent_and_joins_pr_authors(self, tmp_path: Path, prs_csv: Path) -> None:
        run("import_prs", prs_csv)  # creates "ada" (login) and "ada@example.com" as two people
        path = tmp_path / "teams.csv"
        path.write_text("team,email,login,start\nCore,ada@example.com,ada,2024-01-01\n", encoding="utf-8")
        run("import_teams", path)
        run("import_teams", path)
        assert TeamMembership.objects.count() == 1
        ada = Identity.objects.get(key="login:ada").person
        assert Identity.objects.get(key="email:ada@example.com").person == ada
        assert set(PullRequest.objects.filter(author=ada).values_list("number", flat=True)) == {1, 2}

    def test_missing_column_names_it_and_stores_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "teams.csv"
        path.write_text("name,email\nAda,ada@example.com\n", encoding="utf-8")
        with pytest.raises(CommandError, match="missing required column\\(s\\) 'team'"):
            run("import_teams", path)
        assert Team.objects.count() == 0 and Person.objects.count() == 0


def test_snapshots_are_recomputed(prs_csv: Path) -> None:
    out, err = run("import_prs", prs_csv)
    stored = MetricSnapshot.objects.count()
    assert stored > 0
    assert out.rstrip().endswith(f"; {stored} snapshots recomputed.")
    merged = MetricSnapshot.objects.get(
        scope="repository", repository__full_name="acme/api", period="month", metric="merged_prs"
    )
    assert (merged.value, merged.n) == (2.0, 2)  # PRs 1 and 2 merged in May 2024
    assert err == ""
