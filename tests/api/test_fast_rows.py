"""The JSON fast path (``columns.json_rows``, datetimes as SQL text, ids-first pages) gives exactly what the
DRF serializers give: value for value, for every column list, role, page and time zone."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import json
import re
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer

from metrics.api import column_types as coltypes
from metrics.api import columns as cols
from metrics.api import views
from metrics.core.models import TeamMembership
from metrics.ingestion.models import PullRequest
from tests.api.conftest import Org, TokenClient, _pr, at

UTC = dt.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
COLUMN_LISTS = {
    name: value
    for name, value in vars(cols).items()
    if isinstance(value, tuple) and value and all(isinstance(c, coltypes.Column) for c in value)
}
VIEWS = [
    view
    for view in vars(views).values()
    if isinstance(view, type) and issubclass(view, views.ExportListView) and view is not views.ExportListView
]

# Per column kind: what a row may hold (the database's types first, then anything DRF also accepts).
VALUES: dict[str, list[Any]] = {
    "int": [7, 0, -3, 2**40, True, decimal.Decimal("12")],
    "float": [1.5, 0.0, -2.25, 38.582076130499836, 3, decimal.Decimal("1.25"), 1e300],
    "text": ["acme/api", "", 'ünïcødé "quoted" <b>', "person-0123456789ab", 5],
    "bool": [True, False, 1, 0, "yes", "false"],
    "datetime": [
        dt.datetime(2025, 5, 8, 21, 0, tzinfo=UTC),
        dt.datetime(2025, 3, 4, 4, 33, 38, 999999, tzinfo=UTC),  # whole seconds: truncated, not rounded
        dt.datetime(2025, 3, 4, 4, 33, 38, tzinfo=zoneinfo.ZoneInfo("UTC")),
        dt.datetime(2025, 6, 1, 1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        dt.datetime(2025, 1, 1, 0, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
        dt.datetime(2025, 7, 1, 12, 0),  # naive
        dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),  # strftime does not pad the year
        dt.datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),
        "2025-05-10T00:00:00Z",  # already text (datetimes_as_text)
        "",
    ],
    "date": [dt.date(2025, 6, 2), dt.date(999, 1, 1), "2025-06-09", ""],
    "list": [[], ["claude", "copilot"], ["x", None, 3], ("a", "b")],
    "json": [{"prs": 3, "reviews": [1, 2]}, {}, [], "text", 4, 2.5, True, {"nested": {"ok": None}}],
}


def rows_for(columns: tuple[coltypes.Column, ...]) -> list[dict[str, Any]]:
    """Every value of every kind in some row, rows of all nulls and of the first values, and ``id``."""
    longest = max(len(VALUES[c.kind]) for c in columns)
    rows = [
        {
            "id": i,
            **{
                coltypes.ALIAS + c.name: VALUES[c.kind][(i + k) % len(VALUES[c.kind])]
                for k, c in enumerate(columns)
            },
        }
        for i in range(longest)
    ]
    return [*rows, {"id": -1, **{coltypes.ALIAS + c.name: None for c in columns}}]


def render(data: Any) -> bytes:
    return JSONRenderer().render(data)


def test_every_column_list_is_covered() -> None:
    assert set(COLUMN_LISTS) >= {
        "TEAMS",
        "PEOPLE",
        "REPOSITORIES",
        "PULL_REQUESTS",
        "REVIEWS",
        "REVERTS",
        "DEPLOYMENTS",
        "METRICS",
        "SYNC_RUNS",
        "AI_IMPACT",
        "AI_ROI",
    }
    assert {c.kind for columns in COLUMN_LISTS.values() for c in columns} == set(VALUES)
    assert {view.columns for view in VIEWS} == set(COLUMN_LISTS.values())


ZONES = {"utc": None, "berlin": BERLIN, "minus7": dt.timezone(dt.timedelta(hours=-7))}


def shapes(rows: list[dict]) -> list[list[tuple[str, type]]]:
    """Names and types in order: equal values are not enough (1 == 1.0 == True in Python, not in JSON)."""
    return [[(name, type(value)) for name, value in row.items()] for row in rows]


@pytest.mark.parametrize("zone", list(ZONES.values()), ids=list(ZONES))
@pytest.mark.parametrize("name", sorted(COLUMN_LISTS))
def test_json_rows_equal_the_serializer(name: str, zone: Any) -> None:
    columns = COLUMN_LISTS[name]
    serializer = coltypes.make_serializer(name.title().replace("_", ""), columns)
    rows = rows_for(columns)
    with timezone.override(zone) if zone is not None else contextlib.nullcontext():
        for row in rows:  # one at a time: a value DRF refuses (year 1 at UTC-7) fails the fast path too
            try:
                expected = serializer([row], many=True).data
            except Exception as refused:  # whatever DRF raises, the fast path raises
                with pytest.raises(type(refused), match=re.escape(str(refused))):
                    coltypes.json_rows(serializer, [row])
                assert zone is not None, "every value is formatted in UTC"
                continue
            fast = coltypes.json_rows(serializer, [row])
            assert [list(r) for r in fast] == [[c.name for c in columns]]
            assert shapes(fast) == shapes(expected)
            assert render(fast) == render(expected)


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.__name__)
def test_json_rows_of_each_views_own_serializer(view: type[views.ExportListView]) -> None:
    rows = rows_for(view.columns)
    expected = view.serializer_class(rows, many=True).data
    assert render(coltypes.json_rows(view.serializer_class, rows)) == render(expected)


def test_out_of_range_datetimes_fail_as_in_drf() -> None:
    serializer = coltypes.make_serializer("Run", cols.SYNC_RUNS)
    rows = rows_for(cols.SYNC_RUNS)
    rows[0][coltypes.ALIAS + "started_at"] = dt.datetime.max.replace(tzinfo=UTC)
    with timezone.override(zoneinfo.ZoneInfo("Pacific/Kiritimati")):
        with pytest.raises(ValidationError, match="out of range"):
            serializer(rows, many=True).data  # noqa: B018
        with pytest.raises(ValidationError, match="out of range"):
            coltypes.json_rows(serializer, rows)


@pytest.mark.django_db
def test_datetime_text_is_drfs_format() -> None:
    """PostgreSQL's text of a timestamp equals DRF's format of the timestamp psycopg loads."""
    field = coltypes.Column("at", "datetime").field()
    moments = [
        dt.datetime(2025, 3, 4, 4, 33, 38, 999999, tzinfo=UTC),
        dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
        dt.datetime(2024, 2, 29, 0, 0, 0, 1, tzinfo=UTC),
        dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
        dt.datetime(1, 1, 1, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2025, 6, 1, 1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    ]
    if not coltypes.datetimes_as_text("default"):
        pytest.skip("datetimes are formatted as text on PostgreSQL only")
    from tests.factories import make_repository

    repo = make_repository(full_name="acme/times")
    for number, moment in enumerate(moments, start=1):
        PullRequest.objects.create(repository=repo, number=number, title="t", state="open", created_at=moment)
    found = PullRequest.objects.filter(repository=repo).order_by("number")
    typed = [field.to_representation(moment) for moment in found.values_list("created_at", flat=True)]
    text = list(found.values_list(coltypes.DatetimeText(F("created_at")), flat=True))
    assert (
        text
        == typed
        == [
            "2025-03-04T04:33:38Z",
            "2025-12-31T23:59:59Z",
            "2024-02-29T00:00:00Z",
            "999-01-02T03:04:05Z",
            "1-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2025-05-31T19:32:03Z",
        ]
    )
    with timezone.override(BERLIN):
        assert not coltypes.datetimes_as_text("default")


# End to end: every endpoint answers exactly as the plain DRF path (serializer on typed values, one query).


@pytest.fixture
def drf_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``drf_path(True)``: the views take the plain DRF path; ``drf_path(False)``: the fast one."""
    fast_rows, as_text = coltypes.json_rows, coltypes.datetimes_as_text
    ids_first = {view: view.ids_first for view in VIEWS}

    def switch(plain: bool) -> None:
        drf_rows = lambda serializer, page: serializer(page, many=True).data  # noqa: E731
        monkeypatch.setattr(coltypes, "json_rows", drf_rows if plain else fast_rows)
        monkeypatch.setattr(coltypes, "datetimes_as_text", (lambda using: False) if plain else as_text)
        for view, value in ids_first.items():
            monkeypatch.setattr(view, "ids_first", False if plain else value)

    yield switch


def _tricky_prs(org: Org) -> None:
    """PRs with microseconds, a year before 1000, nulls everywhere nullable, a null author."""
    shared, alice = org.repos["acme/shared"], org.people["alice"]
    _pr(
        shared,
        10,
        alice,
        created_at=dt.datetime(2025, 7, 3, 10, 11, 12, 999999, tzinfo=UTC),
        first_commit_at=dt.datetime(999, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
        merged_at=dt.datetime(2025, 7, 4, 0, 0, 0, 1, tzinfo=UTC),
        additions=None,
        deletions=None,
        changed_files=None,
        commits_count=None,
        ai_tools=["claude", "cursor"],
        ai_assisted=True,
    )
    PullRequest.objects.create(
        repository=shared,
        number=11,
        title="no author",
        state="closed",
        created_at=at("2025-07-05"),
        closed_at=at("2025-07-06", 3),
    )


def _pages(client: Client, url: str) -> list[tuple[int, bytes]]:
    """Every page of a list, following next links, then the previous link of the last page (or the error)."""
    pages: list[tuple[int, bytes]] = []
    body: dict[str, Any] = {}
    while url:
        response = client.get(url)
        pages.append((response.status_code, response.content))
        if response.status_code != 200:
            return pages
        body = json.loads(response.content)
        url = body["next"]
    if body.get("previous"):
        response = client.get(body["previous"])
        pages.append((response.status_code, response.content))
    return pages


URLS = [
    *(
        f"/api/v1/{name}/"
        for name in (
            "teams",
            "people",
            "repositories",
            "reviews",
            "reverts",
            "deployments",
            "metrics",
            "sync-runs",
            "ai-impact",
            "ai-roi",
        )
    ),
    *(
        f"/api/v1/pull-requests/?{query}"
        for query in (
            "",
            "page_size=2",
            "page_size=3&ordering=-id",
            "team=platform&since=2025-05-01&page_size=2",
            "team=mobile&page_size=1",
            "repository=acme/shared&page_size=2",
            "state=merged&ai_assisted=true",
            "updated_since=2025-06-01",
        )
    ),
    "/api/v1/reviews/?team=platform&page_size=1",
    "/api/v1/metrics/?page_size=4",
    "/api/v1/metrics/?limit=4&offset=2",
    "/api/v1/metrics/?team=platform&period=week",
]


@pytest.mark.parametrize(
    ("role", "teams"), [("admin", ()), ("viewer", ()), ("manager", ("platform",)), ("executive", ())]
)
def test_endpoints_answer_as_drf_does(
    org: Org, token_client: TokenClient, drf_path: Any, role: str, teams: tuple[str, ...]
) -> None:
    _tricky_prs(org)
    client = token_client(role, teams)
    for url in URLS:
        drf_path(True)
        expected = _pages(client, url)
        drf_path(False)
        assert _pages(client, url) == expected, url
        assert expected[0][1].startswith(b"{"), url


def test_pull_requests_are_paged_ids_first(org: Org, token_client: TokenClient, drf_path: Any) -> None:
    """The PR list takes the ids-first page, and an offset cursor (DRF makes them) lands where DRF's does."""
    assert views.PullRequestListApi.ids_first
    _tricky_prs(org)
    client = token_client("admin")
    ids = sorted(PullRequest.objects.values_list("id", flat=True))
    cursors = [
        "",
        f"&cursor={base64.b64encode(f'o=1&p={ids[2]}'.encode()).decode()}",
        f"&cursor={base64.b64encode(f'o=2&r=1&p={ids[-1]}'.encode()).decode()}",
    ]
    for cursor in cursors:
        url = f"/api/v1/pull-requests/?page_size=2{cursor}"
        drf_path(True)
        expected = client.get(url).content
        drf_path(False)
        assert client.get(url).content == expected


def test_ids_first_metric_pages(
    org: Org, token_client: TokenClient, drf_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IdsFirst also serves MetricPagination (count, offset pages), should a metric list want it."""
    client = token_client("admin")
    drf_path(True)
    expected = [client.get(f"/api/v1/metrics/?{q}").content for q in ("page_size=4", "limit=4&offset=2")]
    drf_path(False)
    monkeypatch.setattr(views.MetricSnapshotListApi, "ids_first", True)
    found = [client.get(f"/api/v1/metrics/?{q}").content for q in ("page_size=4", "limit=4&offset=2")]
    assert found == expected


def test_browsable_api_and_csv_still_work(org: Org, token_client: TokenClient, drf_path: Any) -> None:
    client = token_client("admin")
    page = client.get("/api/v1/pull-requests/?page_size=2", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"2025-05-08T21:00:00Z" in page.content
    csv = client.get("/api/v1/pull-requests/?format=csv")
    assert csv.status_code == 200 and b"2025-05-08T21:00:00Z" in b"".join(csv.streaming_content)


def test_team_pages_ids_first_keep_membership_dates(org: Org, token_client: TokenClient) -> None:
    """bob's PR from his mobile days is not platform's, though bob is a platform member now."""
    assert TeamMembership.objects.filter(person=org.people["bob"]).count() == 2
    pages = _pages(token_client("admin"), "/api/v1/pull-requests/?team=platform&page_size=1")
    ids = [row["id"] for _, page in pages[:-1] for row in json.loads(page)["results"]]
    assert ids == sorted(org.prs[key].id for key in ("api#1", "api#2", "api#3", "shared#1"))
