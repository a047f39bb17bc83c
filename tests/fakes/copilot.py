"""A fake GitHub Copilot API for connector tests, served by ``tests/fakes/server.py`` on 127.0.0.1.

It serves the sample payloads of ``../shared/data/copilot`` byte for byte (see that folder's README):
the seats list (paginated like GitHub when ``per_page`` is smaller than the sample, with a ``Link``
header), the older ``/copilot/metrics`` days, the ``download_links`` answers of the usage metrics reports
and the report files they point at (``/mock-data/new-api/...``, no token needed, like signed URLs).
What the samples lack is made in their shape: the ``users-*`` links answers, and the ``user-teams-1-day``
report as NDJSON, built from the seats' ``assigning_team``.  Every API answer carries GitHub's rate-limit
headers; a request without ``Authorization: Bearer <token>`` gets 401 ``Bad credentials``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse

ORG = "octodemo"
ENTERPRISE = "octo-enterprise"
FILES = "/mock-data/new-api"
SAMPLE_DAY = "2026-04-25"  # the day of the 1-day sample reports


class FakeCopilot:
    def __init__(self, server: FakeApiServer, samples: Path, token: str = "ghp-test-token") -> None:  # noqa: S107
        self.server = server
        self.samples = samples
        self.token = token
        self.reports = True  # False: the usage metrics reports API answers 404 (an older installation)
        self.legacy = True  # False: /copilot/metrics answers 404 (shut down on github.com on 2026-04-02)
        self.max_per_page = 100
        self.days: dict[str, dict[str, str]] = {
            SAMPLE_DAY: {
                "organization-1-day": "organization-1-day-report.json",
                "users-1-day": "organization-users-1-day-report.json",
            }
        }
        base = f"/orgs/{ORG}/copilot"
        server.route("GET", f"{base}/billing/seats")(self._guarded(self._seats))
        server.route("GET", f"{base}/metrics")(self._guarded(self._legacy))
        server.route("GET", f"{base}/metrics/reports/(?P<report>[a-z0-9-]+(?:/latest)?)")(
            self._guarded(self._links)
        )
        # The enterprise reports: the same files under /enterprises/{enterprise}/ (enterprise-1-day ...).
        enterprise = f"/enterprises/{ENTERPRISE}/copilot"
        server.route("GET", f"{enterprise}/billing/seats")(self._guarded(self._seats))
        server.route("GET", f"{enterprise}/metrics/reports/(?P<report>[a-z0-9-]+(?:/latest)?)")(
            self._guarded(self._links)
        )
        server.route("GET", f"{FILES}/(?P<name>[\\w.-]+)")(self._file)

    @property
    def url(self) -> str:
        return self.server.url

    def sample(self, name: str) -> bytes:
        return (self.samples / name).read_bytes()

    def _guarded(self, handler: Any) -> Any:
        def answer(request: FakeRequest, **groups: str) -> FakeResponse:
            if request.header("authorization") not in (f"Bearer {self.token}", f"token {self.token}"):
                response = FakeResponse(
                    401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
                )
            else:
                response = handler(request, **groups)
            response.headers = {
                **_rate_headers(),
                "Content-Type": "application/json; charset=utf-8",
                **response.headers,
            }
            return response

        return answer

    def _seats(self, request: FakeRequest) -> FakeResponse:
        per_page = min(int(request.param("per_page", "50") or 50), self.max_per_page)
        page = int(request.param("page", "1") or 1)
        data = json.loads(self.sample("organization_seats_response_sample.json"))
        seats = data["seats"]
        if per_page >= len(seats) and page == 1:
            return FakeResponse(200, self.sample("organization_seats_response_sample.json"))
        last = max((len(seats) + per_page - 1) // per_page, 1)
        body = {"total_seats": data["total_seats"], "seats": seats[(page - 1) * per_page : page * per_page]}
        return FakeResponse(200, body, {"Link": self._link(request, page, last, per_page)})

    def _link(self, request: FakeRequest, page: int, last: int, per_page: int) -> str:
        def url(number: int) -> str:
            query = {k: v[-1] for k, v in request.query.items()} | {"page": number, "per_page": per_page}
            return f"{self.url}{request.path}?{urlencode(query)}"

        links = [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"'] if page < last else []
        links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"'] if page > 1 else []
        return ", ".join(links)

    def _legacy(self, request: FakeRequest) -> FakeResponse:
        if not self.legacy:
            return FakeResponse(404, {"message": "Not Found"})
        days = json.loads(self.sample("organization_metrics_response_sample.json"))
        since = request.param("since")
        days = [d for d in days if since is None or d["date"] >= since[:10]]
        per_page, page = int(request.param("per_page", "28") or 28), int(request.param("page", "1") or 1)
        last = max((len(days) + per_page - 1) // per_page, 1)
        chunk = days[(page - 1) * per_page : page * per_page]
        return FakeResponse(200, chunk, {"Link": self._link(request, page, last, per_page)})

    def _links(self, request: FakeRequest, report: str) -> FakeResponse:
        if not self.reports:
            return FakeResponse(404, {"message": "Not Found"})
        report = report.replace("enterprise-", "organization-", 1)
        if report == "organization-28-day/latest":
            return FakeResponse(200, self.sample("download-links-organization-28-day.json"))
        if report == "users-28-day/latest":
            return FakeResponse(
                200,
                {
                    "download_links": [f"{FILES}/organization-users-28-day-report.json"],
                    "report_start_day": "2026-03-29",
                    "report_end_day": SAMPLE_DAY,
                },
            )
        day = request.param("day") or ""
        if report == "user-teams-1-day" and day:
            links = [f"{FILES}/user-teams-{day}.ndjson"]
            return FakeResponse(200, {"download_links": links, "report_day": day})
        name = self.days.get(day, {}).get(report)
        if name is None:
            return FakeResponse(404, {"message": "Not Found"})
        if report == "organization-1-day" and day == SAMPLE_DAY:
            return FakeResponse(200, self.sample("download-links-organization-1-day.json"))
        return FakeResponse(200, {"download_links": [f"{FILES}/{name}"], "report_day": day})

    def _file(self, request: FakeRequest, name: str) -> FakeResponse:
        if name.startswith("user-teams-") and name.endswith(".ndjson"):
            day = name.removeprefix("user-teams-").removesuffix(".ndjson")
            ndjson = {"Content-Type": "application/x-ndjson"}
            return FakeResponse(200, user_teams_ndjson(self.samples, day), ndjson)
        path = self.samples / name
        if not path.is_file():
            missing = "<Error><Code>NoSuchKey</Code></Error>"
            return FakeResponse(404, missing, {"Content-Type": "application/xml"})
        return FakeResponse(200, path.read_bytes(), {"Content-Type": "application/octet-stream"})


def user_teams_ndjson(samples: Path, day: str) -> str:
    """The ``user-teams-1-day`` report in its documented row shape, one row per (user, team), from the
    seats sample's ``assigning_team``."""
    seats = json.loads((samples / "organization_seats_response_sample.json").read_bytes())["seats"]
    rows = [
        {
            "user_id": seat["assignee"]["id"],
            "user_login": seat["assignee"]["login"],
            "day": day,
            "organization_id": "100000001",
            "team_id": seat["assigning_team"]["id"],
            "slug": seat["assigning_team"]["slug"],
        }
        for seat in seats
        if seat.get("assigning_team")
    ]
    return "".join(json.dumps(row) + "\n" for row in rows)


def _rate_headers() -> dict[str, str]:
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4999",
        "x-ratelimit-used": "1",
        "x-ratelimit-resource": "core",
        "x-ratelimit-reset": "4102444800",
        "x-github-api-version-selected": "2022-11-28",
    }
