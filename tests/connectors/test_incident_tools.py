"""PagerDuty, Opsgenie and Jira (Cloud and Data Center) connectors against fakes of their documented APIs on
127.0.0.1 (tests/fakes/pagerduty.py, opsgenie.py, jira.py): exact records through pagination, 429 with
Retry-After, 5xx and dropped connections; a sync killed after its first page resumes from the checkpoint
with nothing lost or read twice; bad credentials are a permanent error naming the source, without the key.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import Connector, ConnectorError, SourceConfig
from connectors.jira import JiraConnector, build_jql
from connectors.opsgenie import OpsgenieConnector
from connectors.pagerduty import PagerDutyConnector
from connectors.records import IncidentRecord
from tests.fakes import jira as fj
from tests.fakes import opsgenie as fo
from tests.fakes import pagerduty as fp
from tests.fakes.server import FakeApiServer

FAST = {"backoff_seconds": 0.01, "max_retries": 3, "page_size": 2}


def t(day: int, hour: int, minute: int = 0, month: int = 9) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def read_all(connector: Connector) -> list[IncidentRecord]:
    return [r for page in connector.pages() for r in page if isinstance(r, IncidentRecord)]


def killed_after_first_page(make: Any) -> tuple[list[IncidentRecord], list[IncidentRecord]]:
    """The records a run stored before it was killed after its first page, and those of the run that
    resumed from the checkpoint stored with that page."""
    first = make({})
    pages = first.pages()
    stored = list(next(pages))
    checkpoint = dict(first.checkpoint)
    pages.close()  # killed
    return stored, read_all(make(checkpoint))


# --- PagerDuty -------------------------------------------------------------------------------------------
@pytest.fixture
def pagerduty(fresh_server: FakeApiServer) -> fp.FakePagerDuty:
    fake = fp.FakePagerDuty(fresh_server)
    fake.incidents = [
        fp.incident(11, "2026-09-01T10:00:00Z", resolved="2026-09-01T11:30:00Z", service="Checkout API"),
        fp.incident(
            12, "2026-09-03T08:00:00Z", resolved="2026-09-03T08:20:00Z", priority=None, urgency="low"
        ),
        fp.incident(13, "2026-09-05T22:00:00Z", service="Search"),  # still open
        fp.incident(14, "2026-09-07T01:00:00Z", resolved="2026-09-08T01:00:00Z", priority="P2"),
        fp.incident(15, "2026-09-09T12:00:00Z", resolved="2026-09-09T12:05:00Z", title="Disk full"),
        fp.incident(9, "2026-07-01T00:00:00Z", resolved="2026-07-01T01:00:00Z"),  # before the checkpoint
    ]
    return fake


def pd_connector(
    fake: fp.FakePagerDuty, checkpoint: dict[str, Any], key: str = fp.TOKEN
) -> PagerDutyConnector:
    options = {"api_url": fake.url, "checkpoint": checkpoint, **FAST}
    return PagerDutyConnector(SourceConfig(kind="pagerduty", name="acme-pd", options=options, secret=key))


def pd(
    number: int, start: datetime, end: datetime | None, severity: str, service: str, title: str = ""
) -> IncidentRecord:
    pid = f"Q{number:06d}"
    return IncidentRecord(
        source="pagerduty",
        external_id=pid,
        started_at=start,
        title=title or f"Incident {number}",
        resolved_at=end,
        severity=severity,
        service=service,
        url=f"https://acme.pagerduty.com/incidents/{pid}",
    )


PD_EXPECTED = [
    pd(11, t(1, 10), t(1, 11, 30), "P1", "Checkout API"),
    pd(12, t(3, 8), t(3, 8, 20), "low", "Checkout API"),
    pd(13, t(5, 22), None, "P1", "Search"),
    pd(14, t(7, 1), t(8, 1), "P2", "Checkout API"),
    pd(15, t(9, 12), t(9, 12, 5), "P1", "Checkout API", "Disk full"),
]
PD_START = {"since": "2026-08-01T00:00:00Z"}


def test_pagerduty_exact_records_through_pages_and_faults(pagerduty: fp.FakePagerDuty) -> None:
    server = pagerduty.server
    server.fault("GET", "/incidents", status=429, retry_after=0.2)
    server.fault("GET", "/incidents", status=502, when=lambda r: r.param("offset") == "2")
    server.fault("GET", "/incidents", drop=True, when=lambda r: r.param("offset") == "4")
    connector = pd_connector(pagerduty, PD_START)
    started = datetime.now(UTC)
    assert read_all(connector) == PD_EXPECTED
    assert server.count("GET", "/incidents", 429) == 1 and server.count("GET", "/incidents", 502) == 1
    assert server.count("GET", "/incidents", dropped=True) == 1
    asked = [r for r in server.requests if r.status == 200]
    assert {r.headers["authorization"] for r in asked} == {f"Token token={fp.TOKEN}"}
    assert [r.query["offset"][0] for r in asked] == ["0", "2", "4"]
    assert {r.query["sort_by"][0] for r in asked} == {"created_at:asc"}
    assert (datetime.now(UTC) - started).total_seconds() >= 0.2  # the Retry-After was waited out
    # The next run starts at the oldest incident still open (its resolution is read when it comes).
    assert connector.checkpoint == {"since": "2026-09-05T22:00:00Z"}
    assert connector.counts["rate_limit_waits"] == 1 and connector.counts["retries"] == 2


def test_pagerduty_killed_run_resumes_with_nothing_lost_or_doubled(pagerduty: fp.FakePagerDuty) -> None:
    stored, resumed = killed_after_first_page(lambda cp: pd_connector(pagerduty, cp or PD_START))
    assert stored == PD_EXPECTED[:2]
    assert resumed == PD_EXPECTED[2:]


def test_pagerduty_next_run_reads_the_resolution_of_an_open_incident(pagerduty: fp.FakePagerDuty) -> None:
    first = pd_connector(pagerduty, PD_START)
    read_all(first)
    pagerduty.incidents[2] = fp.incident(
        13, "2026-09-05T22:00:00Z", resolved="2026-09-06T02:00:00Z", service="Search"
    )
    again = read_all(pd_connector(pagerduty, first.checkpoint))
    assert [r.external_id for r in again] == ["Q000013", "Q000014", "Q000015"]
    assert again[0].resolved_at == t(6, 2)


def test_pagerduty_bad_key_is_a_clear_permanent_error_without_the_key(pagerduty: fp.FakePagerDuty) -> None:
    wrong = "pd-wrong-key-7Hq2x9"
    with pytest.raises(ConnectorError) as caught:
        read_all(pd_connector(pagerduty, PD_START, key=wrong))
    message = str(caught.value)
    assert caught.value.permanent
    assert "PagerDuty rejected the credentials of source 'acme-pd' (401 Unauthorized" in message
    assert wrong not in message
    assert pagerduty.server.count("GET", "/incidents") == 1  # never retried


# --- Opsgenie --------------------------------------------------------------------------------------------
@pytest.fixture
def opsgenie(fresh_server: FakeApiServer) -> fo.FakeOpsgenie:
    fake = fo.FakeOpsgenie(fresh_server)
    fake.services = [{"id": f"svc-{i}", "name": f"Service {i}", "teamId": "team-1"} for i in range(1, 4)]
    fake.incidents = [
        fo.incident(
            1,
            "2026-09-02T10:00:00Z",
            status="resolved",
            priority="P1",
            services=("svc-3",),
            impact_start="2026-09-02T09:45:00Z",
            impact_end="2026-09-02T12:00:00Z",
        ),
        fo.incident(2, "2026-09-04T10:00:00Z", status="closed", updated="2026-09-04T18:00:00Z"),
        fo.incident(3, "2026-09-06T10:00:00Z", services=("svc-unknown",)),
    ]
    return fake


def og_connector(fake: fo.FakeOpsgenie, checkpoint: dict[str, Any], key: str = fo.KEY) -> OpsgenieConnector:
    options = {"api_url": fake.url, "checkpoint": checkpoint, **FAST}
    return OpsgenieConnector(SourceConfig(kind="opsgenie", name="acme-og", options=options, secret=key))


def og(tiny: int, start: datetime, end: datetime | None, severity: str, service: str) -> IncidentRecord:
    iid = f"7c1b{tiny:04d}-0000-4000-8000-00000000{tiny:04d}"
    return IncidentRecord(
        source="opsgenie",
        external_id=iid,
        started_at=start,
        title=f"Incident {tiny}",
        resolved_at=end,
        severity=severity,
        service=service,
        url=f"https://acme.app.opsgenie.com/incident/detail/{iid}",
    )


OG_EXPECTED = [
    og(1, t(2, 9, 45), t(2, 12), "P1", "Service 3"),  # impact start/end, the service's name
    og(2, t(4, 10), t(4, 18), "P2", ""),  # closed without an impact end: its last update
    og(3, t(6, 10), None, "P2", "svc-unknown"),  # a service the key cannot list: its id
]


def test_opsgenie_exact_records_through_pages_and_faults(opsgenie: fo.FakeOpsgenie) -> None:
    server = opsgenie.server
    server.fault("GET", "/v1/incidents", status=429, retry_after=0.1)
    server.fault("GET", "/v1/services", status=503)
    server.fault("GET", "/v1/incidents", drop=True, when=lambda r: r.param("offset") == "2")
    connector = og_connector(opsgenie, {"since": "2026-08-01T00:00:00Z"})
    assert read_all(connector) == OG_EXPECTED
    ok = [r for r in server.requests if r.status == 200 and r.path == "/v1/incidents"]
    assert [r.query["offset"][0] for r in ok] == ["0", "2"]
    assert {r.headers["authorization"] for r in server.requests} == {f"GenieKey {fo.KEY}"}
    assert server.count("GET", "/v1/services", 200) == 1  # names listed once a run
    assert connector.checkpoint == {"since": "2026-09-06T10:00:00Z"}


def test_opsgenie_killed_run_resumes_with_nothing_lost_or_doubled(opsgenie: fo.FakeOpsgenie) -> None:
    stored, resumed = killed_after_first_page(
        lambda cp: og_connector(opsgenie, cp or {"since": "2026-08-01T00:00:00Z"})
    )
    assert stored + resumed == OG_EXPECTED and len(stored) == 2


def test_opsgenie_bad_key_is_a_clear_permanent_error_without_the_key(opsgenie: fo.FakeOpsgenie) -> None:
    wrong = "11111111-wrong-opsgenie-key"
    with pytest.raises(ConnectorError) as caught:
        read_all(og_connector(opsgenie, {}, key=wrong))
    assert caught.value.permanent
    assert (
        "Opsgenie rejected the credentials of source 'acme-og' (401 Unauthorized (Could not authenticate))"
        in str(caught.value)
    )
    assert wrong not in str(caught.value)


# --- Jira ------------------------------------------------------------------------------------------------
@pytest.fixture
def jira(fresh_server: FakeApiServer) -> fj.FakeJira:
    fake = fj.FakeJira(fresh_server)
    fake.issues = [
        fj.issue("OPS-1", "2026-09-01T10:00:00Z", resolved="2026-09-01T12:00:00Z", priority="Highest"),
        fj.issue("OPS-2", "2026-09-02T10:00:00Z", priority="Low"),  # a priority not chosen
        fj.issue("OPS-3", "2026-09-03T10:00:00Z", updated="2026-09-03T11:00:00Z", priority="High"),
        fj.issue("OPS-4", "2026-09-04T10:00:00Z", issue_type="Bug"),  # not an incident type
        fj.issue("PLAT-7", "2026-09-05T10:00:00Z", resolved="2026-09-05T10:30:00Z", issue_type='Sev "1"'),
        fj.issue("OTHER-1", "2026-09-05T10:00:00Z"),  # a project not chosen
        fj.issue("OPS-5", "2026-09-06T10:00:00Z", resolved="2026-09-07T10:00:00Z"),
    ]
    return fake


def jira_connector(
    fake: fj.FakeJira, checkpoint: dict[str, Any], *, flavor: str = "cloud", secret: str | None = None
) -> JiraConnector:
    options = {
        "api_url": fake.url,
        "flavor": flavor,
        "email": fj.EMAIL if flavor == "cloud" else "",
        "projects": ["OPS", "PLAT"],
        "issue_types": ["Incident", 'Sev "1"'],
        "priorities": ["Highest", "High"],
        "checkpoint": checkpoint,
        **FAST,
    }
    key = secret or (fj.TOKEN if flavor == "cloud" else fj.PAT)
    return JiraConnector(SourceConfig(kind="jira", name="acme-jira", options=options, secret=key))


def ji(key: str, start: datetime, end: datetime | None, severity: str = "High") -> IncidentRecord:
    return IncidentRecord(
        source="jira",
        external_id=key,
        started_at=start,
        title=f"Outage {key}",
        resolved_at=end,
        severity=severity,
        service=key.split("-")[0],
        url=f"{{site}}/browse/{key}",
    )


def jira_expected(fake: fj.FakeJira) -> list[IncidentRecord]:
    rows = [
        ji("OPS-1", t(1, 10), t(1, 12), "Highest"),
        ji("OPS-3", t(3, 10), None),
        ji("PLAT-7", t(5, 10), t(5, 10, 30)),
        ji("OPS-5", t(6, 10), t(7, 10)),
    ]
    return [replace(r, url=r.url.replace("{site}", fake.url)) for r in rows]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_jira_exact_records_through_pages_and_faults(jira: fj.FakeJira, flavor: str) -> None:
    path = "/rest/api/3/search/jql" if flavor == "cloud" else "/rest/api/2/search"
    jira.server.fault("GET", path, status=429, retry_after=0.1)
    jira.server.fault(
        "GET",
        path,
        status=500,
        when=lambda r: bool(r.param("nextPageToken") or r.param("startAt", "0") != "0"),
    )
    jira.server.fault("GET", path, drop=True)
    connector = jira_connector(jira, {"since": "2026-08-02T00:00:00Z"}, flavor=flavor)
    assert read_all(connector) == jira_expected(jira)
    # One query, its values quoted: the issue type with quotes in it stayed one value.
    assert set(jira.queries) == {
        'project in ("OPS", "PLAT") AND issuetype in ("Incident", "Sev \\"1\\"") AND priority in ("Highest", '
        '"High") AND updated >= "2026-08-01 00:00" ORDER BY created ASC, key ASC'
    }
    auth = {r.headers["authorization"] for r in jira.server.requests}
    basic = "Basic " + base64.b64encode(f"{fj.EMAIL}:{fj.TOKEN}".encode()).decode()
    assert auth == ({basic} if flavor == "cloud" else {f"Bearer {fj.PAT}"})
    assert connector.checkpoint == {"since": "2026-09-07T10:00:00Z"}  # the newest update read


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_jira_killed_run_resumes_with_nothing_lost_or_doubled(jira: fj.FakeJira, flavor: str) -> None:
    start = {"since": "2026-08-02T00:00:00Z"}
    stored, resumed = killed_after_first_page(lambda cp: jira_connector(jira, cp or start, flavor=flavor))
    assert stored + resumed == jira_expected(jira) and len(stored) == 2


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_jira_bad_token_is_a_clear_permanent_error_without_the_token(jira: fj.FakeJira, flavor: str) -> None:
    wrong = "ATATT-wrong-token-99x"
    with pytest.raises(ConnectorError) as caught:
        read_all(jira_connector(jira, {}, flavor=flavor, secret=wrong))
    assert caught.value.permanent
    assert "Jira rejected the credentials of source 'acme-jira' (401 Unauthorized" in str(caught.value)
    assert wrong not in str(caught.value)


@pytest.mark.parametrize("bad", ["ops", "OPS) OR project = (X", 'A"B'])
def test_jira_project_keys_that_are_not_keys_are_refused(bad: str) -> None:
    with pytest.raises(ConnectorError, match="is not a project key"):
        build_jql(projects=[bad], issue_types=["Incident"], priorities=[], since=t(1, 0))


def test_jira_values_cannot_break_out_of_their_quotes() -> None:
    jql = build_jql(
        projects=["OPS"], issue_types=['x") OR issuetype in ("y', "a\\"], priorities=[], since=t(1, 0)
    )
    clauses, order = fj.parse_jql(jql)
    assert clauses[1] == ("issuetype", "in", ['x") OR issuetype in ("y', "a\\"])
    assert len(clauses) == 3 and order == ["created ASC", "key ASC"]


# --- connection tests (the settings page's "Test connection") ------------------------------------------
def test_connection_checks_pass_with_the_right_key_and_name_the_source_with_a_wrong_one(
    pagerduty: fp.FakePagerDuty,
) -> None:
    server = pagerduty.server
    opsgenie = fo.FakeOpsgenie(server)
    jira = fj.FakeJira(server)
    good = [
        pd_connector(pagerduty, {}),
        og_connector(opsgenie, {}),
        jira_connector(jira, {}, flavor="cloud"),
        jira_connector(jira, {}, flavor="datacenter"),
    ]
    for connector in good:
        connector.check()
    bad = [
        (
            pd_connector(pagerduty, {}, key="wrong-key-1234"),
            "PagerDuty rejected the credentials of source 'acme-pd'",
        ),
        (
            og_connector(opsgenie, {}, key="wrong-key-1234"),
            "Opsgenie rejected the credentials of source 'acme-og'",
        ),
        (
            jira_connector(jira, {}, secret="wrong-key-1234"),
            "Jira rejected the credentials of source 'acme-jira'",
        ),
    ]
    for connector, message in bad:
        with pytest.raises(ConnectorError, match=message) as caught:
            connector.check()
        assert "wrong-key-1234" not in str(caught.value)
    assert server.count(status=200) == 4 and server.count(status=401) == 3


def test_pagerduty_splits_long_ranges_into_six_month_queries(pagerduty: fp.FakePagerDuty) -> None:
    """The fake answers 400 to a range over 6 months, as PagerDuty does: a first sync reading 400 days asks
    in windows, and loses nothing at their edges."""
    pagerduty.incidents.append(fp.incident(8, "2026-03-01T00:00:00Z", resolved="2026-03-01T01:00:00Z"))
    connector = pd_connector(pagerduty, {})
    connector.config.options["days"] = 400
    records = read_all(connector)
    assert [r.external_id for r in records] == ["Q000008", "Q000009"] + [r.external_id for r in PD_EXPECTED]
    windows = {(r.query["since"][0], r.query["until"][0]) for r in pagerduty.server.requests}
    assert len(windows) == 3 and pagerduty.server.count(status=400) == 0


def test_pagerduty_starts_a_new_query_before_the_offset_limit(
    pagerduty: fp.FakePagerDuty, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PagerDuty serves at most 10,000 records a query (offset + limit): near it, the pass asks again from
    the creation time of the last incident read (here the limit is 4 to see it with 5 incidents)."""
    monkeypatch.setattr("connectors.incident_tools.MAX_OFFSET", 4)
    records = read_all(pd_connector(pagerduty, PD_START))
    assert list(dict.fromkeys(records)) == PD_EXPECTED  # the boundary incident may be read twice, never lost
    sinces = [r.query["since"][0] for r in pagerduty.server.requests]
    assert sinces[0] == "2026-08-01T00:00:00Z" and "2026-09-07T01:00:00Z" in sinces
    assert max(int(r.query["offset"][0]) for r in pagerduty.server.requests) <= 2


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_jira_an_issue_updated_mid_pass_pushes_no_other_past_the_cursor(
    jira: fj.FakeJira, flavor: str
) -> None:
    """OPS-1 (page one) is updated while the pass reads page two: ordered by update time it would move to
    the end and shift PLAT-7 onto page one, unread; ordered by creation nothing moves."""

    def update_ops_1(request: Any) -> bool:
        if request.param("startAt", "0") != "0" or request.param("nextPageToken"):
            jira.issues[0] = fj.issue(
                "OPS-1", "2026-09-01T10:00:00Z", resolved="2026-09-01T12:00:00Z",
                updated="2026-09-08T00:00:00Z", priority="Highest",
            )  # fmt: skip
        return False  # not a fault: only the side effect

    path = "/rest/api/3/search/jql" if flavor == "cloud" else "/rest/api/2/search"
    jira.server.fault("GET", path, when=update_ops_1, times=99)
    connector = jira_connector(jira, {"since": "2026-08-02T00:00:00Z"}, flavor=flavor)
    assert read_all(connector) == jira_expected(jira)
    assert connector.checkpoint == {"since": "2026-09-07T10:00:00Z"}


# --- answers of another shape than documented ---------------------------------------------------------
def test_malformed_answers_are_one_line_permanent_errors_naming_the_field(
    pagerduty: fp.FakePagerDuty,
) -> None:
    server = pagerduty.server
    opsgenie, jira = fo.FakeOpsgenie(server), fj.FakeJira(server)
    server.fault("GET", "/incidents", status=200, body={"incident": [], "more": False})
    server.fault("GET", "/v1/incidents", status=200, body={"data": [{"id": "x", "message": "no createdAt"}]})
    server.fault(
        "GET", "/rest/api/3/search/jql", status=200, body={"issues": [{"key": "OPS-1"}], "isLast": True}
    )
    cases = [
        (
            pd_connector(pagerduty, PD_START),
            "PagerDuty answered a malformed response: field 'incidents' is missing",
        ),
        (
            og_connector(opsgenie, PD_START),
            "Opsgenie answered a malformed response: field 'createdAt' is missing",
        ),
        (jira_connector(jira, PD_START), "Jira answered a malformed response: field 'fields' is missing"),
    ]
    for connector, message in cases:
        with pytest.raises(ConnectorError) as caught:
            read_all(connector)
        assert str(caught.value) == message and caught.value.permanent


def test_opsgenie_alerts_of_the_chosen_priorities_as_incidents(opsgenie: fo.FakeOpsgenie) -> None:
    opsgenie.alerts = [
        fo.alert(1, "2026-09-02T10:00:00Z", close_ms=5_400_000, tags=("service:checkout", "team:pay")),
        fo.alert(2, "2026-09-03T10:00:00Z", priority="P4"),  # not a chosen priority
        fo.alert(3, "2026-09-04T10:00:00Z", priority="P2"),
        fo.alert(4, "2026-09-05T10:00:00Z", close_ms=60_000),
    ]
    opsgenie.server.fault("GET", "/v2/alerts", status=429, retry_after=0.1)
    connector = og_connector(opsgenie, {"since": "2026-08-01T00:00:00Z"})
    connector.read = "alerts"
    connector.check()

    def expect(
        n: int, start: datetime, end: datetime | None, severity: str, service: str = ""
    ) -> IncidentRecord:
        iid = f"a1e7{n:04d}-0000-4000-8000-00000000{n:04d}"
        return IncidentRecord("opsgenie", iid, start, f"Alert {n}", end, severity, service)

    assert read_all(connector) == [
        expect(1, t(2, 10), t(2, 11, 30), "P1", "checkout"),
        expect(3, t(4, 10), None, "P2"),
        expect(4, t(5, 10), t(5, 10, 1), "P1"),
    ]
    queries = {r.query["query"][0] for r in opsgenie.server.requests if r.query.get("sort")}
    assert all(q.endswith("AND (priority=P1 OR priority=P2)") for q in queries)
    assert connector.checkpoint == {"since": "2026-09-04T10:00:00Z"}
