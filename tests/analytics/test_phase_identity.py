"""Every PR's phase spans are the same on every surface (issue 14: one source of truth).

For every PR of the (small) demo organization, of a few planted edge cases (approved without a review, a
review after the merge, no first commit...) and of the real flask and crewAI histories, the spans

(a) shown in the PR explorer (the timeline function of every PR, and the rendered page for a sample),
(b) returned by ``/api/v1/pull-requests/`` (JSON and CSV, through the real API with a token) and
(c) used by the snapshots (``flow.phase_spans`` of the snapshot engine's own PR frame)

are identical: unknown (None/NaN) on all of them, or the same hours (the API rounds to 4 places).
The real histories are checked by ``tests/realdata/test_real_histories.py`` with ``assert_identical`` on
the import whose counts it checks (one import of each, the slowest part of the suite).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from metrics.analytics import catalog, flow
from metrics.api.tokens import api_token_create
from metrics.core.models import Repository
from metrics.ingestion import selectors
from metrics.ingestion.models import PullRequest
from metrics.ingestion.snapshots import SNAPSHOT_PR_COLUMNS
from metrics.web import display, prs
from tests.web.conftest import client_for, make_user

pytestmark = pytest.mark.django_db
Spans = dict[int, dict[str, float | None]]
API_PLACES = 4
EDGE_REPO = "edge/phases"


def _at(hours: float) -> dt.datetime:
    return dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC) + dt.timedelta(hours=hours)


# (first_commit, created, ready, first_review, approved, merged) in hours after a fixed moment
EDGE_CASES = {
    "approved without a review": (0, 2, None, None, 5, 9),
    "reviewed, never approved": (0, 2, None, 4, None, 9),
    "approved before the first review": (0, 2, None, 6, 5, 9),
    "review after the merge": (0, 2, None, 12, None, 9),
    "approved after the merge": (0, 2, None, 3, 12, 9),
    "draft made ready later": (0, 2, 7, 8, 8.5, 9),
    "no first commit": (None, 2, None, 3, 4, 9),
    "commit after opening": (3, 2, None, 4, 5, 9),
    "open, approved without a review": (0, 2, None, None, 5, None),
    "nothing but opened": (None, 2, None, None, None, None),
}


def plant_edge_cases() -> None:
    repository = Repository.objects.create(full_name=EDGE_REPO, host="github")
    for number, (title, stamps) in enumerate(EDGE_CASES.items(), start=1):
        first_commit, created, ready, review, approved, merged = (
            None if h is None else _at(h) for h in stamps
        )
        PullRequest.objects.create(
            repository=repository,
            number=number,
            title=title,
            state="merged" if merged else "open",
            first_commit_at=first_commit,
            created_at=created,
            ready_at=ready,
            first_review_at=review,
            approved_at=approved,
            merged_at=merged,
            additions=1,
            deletions=1,
        )


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The demo organization (``--small``: the same generator, 4 teams and 6 months) and the edge cases,
    committed once for the module.  The full demo's PRs come from the same generator and code paths; it
    cost two minutes of the developer loop."""
    with django_db_blocker.unblock():
        call_command("load_demo", "--small", "--seed", "7", verbosity=0, stdout=StringIO(), stderr=StringIO())
        plant_edge_cases()
        try:
            yield
        finally:
            call_command("flush", interactive=False, verbosity=0)


def snapshot_spans() -> Spans:
    """(c): the snapshot engine's frame through ``flow.phase_spans`` (what ``metric_snapshots`` uses)."""
    frame = flow.phase_spans(selectors.pull_request_frame(columns=SNAPSHOT_PR_COLUMNS))
    columns = {p.key: p.column for p in catalog.PHASES if p.column in frame}
    out: Spans = {}
    for row in frame[["id", *columns.values()]].itertuples(index=False):
        values = row._asdict()
        out[int(values["id"])] = {key: _none(values[column]) for key, column in columns.items()}
    return out


def explorer_spans() -> Spans:
    """(a): the PR explorer's timeline of every PR, and its cycle-time column."""
    out: Spans = {}
    for pr in PullRequest.objects.select_related("repository").iterator():
        shown = {span["key"].replace("-", "_"): span["hours"] for span in prs.phases(pr)}
        out[pr.pk] = {**shown, "cycle": prs.spans(pr)["cycle"]}
    return out


def api_spans() -> Spans:
    """(b): every page of ``/api/v1/pull-requests/`` as an admin token sees it."""
    _token, raw = api_token_create(name="phase identity", role="admin", team_slugs=[])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    out: Spans = {}
    url: str | None = "/api/v1/pull-requests/?page_size=10000"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        for row in body["results"]:
            out[row["id"]] = {p.key: row[p.column] for p in catalog.PHASES if p.column in row}
        url = body.get("next")
    return out


def csv_spans() -> Spans:
    """(b) as a file: ``?format=csv``, whose spans PostgreSQL/SQLite format as text themselves."""
    _token, raw = api_token_create(name="phase identity csv", role="admin", team_slugs=[])
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/pull-requests/?format=csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    rows = csv.DictReader(io.StringIO(text))
    return {
        int(row["id"]): {
            p.key: float(row[p.column]) if row[p.column] else None for p in catalog.PHASES if p.column in row
        }
        for row in rows
    }


def _none(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def differences(reference: Spans, other: Spans, surface: str, places: int | None = None) -> list[str]:
    """Each (PR, phase) where ``other`` shows something else than ``reference`` (the snapshots); exactly
    the same float, or the same rounded to ``places``."""
    assert reference.keys() == other.keys(), f"{surface}: not the same PRs"
    found = []
    for pr_id, spans in other.items():
        for key, shown in spans.items():
            expected = reference[pr_id].get(key)
            # Rounded to ``places``: within half a unit of the last place (the database's own rounding of
            # its own float arithmetic may land on either side of a tie).
            tolerance = 0.5 * 10.0**-places + 1e-9 if places is not None else 0.0
            same = (shown is None and expected is None) or (
                shown is not None
                and expected is not None
                and math.isclose(shown, expected, rel_tol=0, abs_tol=tolerance)
            )
            if not same:
                found.append(f"{surface}: PR {pr_id} {key}: shown {shown}, snapshots {expected}")
    return found


def assert_identical() -> int:
    """All three surfaces agree for every PR; returns the number of PRs compared."""
    reference = snapshot_spans()
    problems = differences(reference, explorer_spans(), "explorer")
    problems += differences(reference, api_spans(), "api", places=API_PLACES)
    problems += differences(reference, csv_spans(), "csv", places=API_PLACES)
    assert not problems, f"{len(problems)} differences, e.g.\n" + "\n".join(problems[:12])
    return len(reference)


def test_demo_and_edge_cases_show_the_same_spans_everywhere(demo: None) -> None:
    compared = assert_identical()
    assert compared == PullRequest.objects.count() > 450  # every PR of the (small) demo and the edge cases


def test_every_phase_is_on_the_api_and_the_timeline_is_in_the_catalog(demo: None) -> None:
    row = api_spans()[PullRequest.objects.get(repository__full_name=EDGE_REPO, number=1).pk]
    assert set(row) == {p.key for p in catalog.PHASES if p.key != "deploy"}
    pr = PullRequest.objects.get(repository__full_name=EDGE_REPO, number=1)
    assert [s["key"].replace("-", "_") for s in prs.phases(pr)] == list(catalog.TIMELINE)


ROW = re.compile(r'<tr data-pr="([^"]+)">(.*?)</tr>', re.S)
PHASE_CELL = re.compile(r'<span class="swatch phase-([a-z-]+)"></span>[^<]*</dt>\s*<dd>([^<]*)</dd>')
CYCLE_CELL = re.compile(r'data-label="Cycle time">([^<]*)<')


def test_the_explorer_page_prints_the_snapshot_spans(demo: None) -> None:
    """The rendered page, for the edge cases and the first page of the demo: what a reader sees."""
    reference = snapshot_spans()
    keys = PullRequest.objects.values_list("pk", "repository__full_name", "number")
    ids = {f"{repository}#{number}": pk for pk, repository, number in keys}
    client = client_for(make_user("phase-admin", "admin"))
    checked = 0
    for url in (f"/prs/?repository={EDGE_REPO}", "/prs/"):
        html = client.get(url).content.decode()
        rows = ROW.findall(html)
        # The cycle-time column reads in one unit per page (hours, or days once any figure reaches two).
        unit = display.hours_unit(reference[ids[ref.replace("&#x27;", "'")]]["cycle"] for ref, _ in rows)
        for ref, body in rows:
            spans = reference[ids[ref.replace("&#x27;", "'")]]
            shown = {key.replace("-", "_"): text for key, text in PHASE_CELL.findall(body)}
            shown["cycle"] = CYCLE_CELL.search(body).group(1)  # type: ignore[union-attr]
            assert set(catalog.TIMELINE) <= set(shown), ref
            expected = {
                k: "—" if spans[k] is None else display.hours(spans[k], unit if k == "cycle" else "")  # type: ignore[arg-type]
                for k in shown
            }
            assert shown == expected, ref
            checked += 1
    assert checked >= len(EDGE_CASES) + 25
