"""No inline script runs on any page (issue 15, finding 13): the CSP's script-src has no
'unsafe-inline', and every page an admin can reach holds only external scripts and JSON data blocks
(``<script type="application/json">``, which no browser executes), and no inline event handlers."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.test import Client
from django.utils import timezone

from metrics.core.models import DataSource
from tests.factories import make_response, make_round, make_team_members
from tests.web.conftest import Org, client_for, make_user

SKIP = ("/accounts/logout", "/static/", "/assets/", "/admin/logout", "/admin/jsi18n")
MAX_PAGES = 250


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self.links: list[str] = []
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.handlers += [f"<{tag} {k}=...>" for k, _ in attrs if k.startswith("on")]
        if any((v or "").strip().lower().startswith("javascript:") for k, v in attrs if k in ("href", "src")):
            self.handlers.append(f"<{tag} javascript: URL>")
        if tag == "script":
            self._script = named
        if tag == "a" and named.get("href"):
            self.links.append(str(named["href"]))

    def handle_data(self, data: str) -> None:
        script = self._script
        if (
            script is not None
            and data.strip()
            and script.get("src") is None
            and (script.get("type") or "").lower() != "application/json"
        ):
            self.inline.append(data.strip()[:80])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def _survey_trend(org: Org) -> None:
    people = make_team_members(org.checkout, 6, prefix="csp")
    for weeks in (6, 3):
        survey_round = make_round(
            teams=[org.checkout], opened_at=timezone.now() - dt.timedelta(weeks=weeks), open_days=7
        )
        for person in people:
            make_response(survey_round=survey_round, team=org.checkout, person=person, hours=2.0)


def test_no_page_runs_an_inline_script(org: Org) -> None:
    _survey_trend(org)
    DataSource.objects.create(name="gh", kind="github")
    client: Client = client_for(make_user("root", superuser=True))
    seen: set[str] = set()
    queue = [
        "/",
        "/admin/",
        "/api/v1/docs/",
        "/api/v1/redoc/",
        "/surveys/",
        "/ai-impact/",
        "/settings/sources/",
    ]
    problems: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if urlsplit(url).path in seen:  # one visit a page: sort orders and filters add no new markup
            continue
        seen.add(urlsplit(url).path)
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        csp = response["Content-Security-Policy"]
        script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        if "unsafe-inline" in script_src or "unsafe-eval" in script_src:
            problems.append(f"{url}: {script_src}")
        parser = _Scripts()
        parser.feed(response.content.decode())
        problems += [f"{url}: inline script {s!r}" for s in parser.inline]
        problems += [f"{url}: {h}" for h in parser.handlers]
        for href in parser.links:
            target = urlsplit(urljoin(url, href))
            path = target.path + (f"?{target.query}" if target.query else "")
            skip = path.startswith(SKIP) or "delete" in path or "format=" in path
            if not target.netloc and not skip:
                queue.append(path)
    assert len(seen) > 40, sorted(seen)  # the crawl reached the pages, not only the start
    assert {"/surveys/", "/api/v1/docs/", "/admin/"} <= seen
    assert not problems, "\n".join(sorted(set(problems))[:40])
