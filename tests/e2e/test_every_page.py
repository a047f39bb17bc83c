"""Every page, every role, at 1280 and 390 px, in a real browser (issue 16, item 9).

The pages come from the URLconf: every named route outside the admin, the API's data endpoints and the
webhooks, so a page added later is visited without touching this file (a route with parameters needs
an example in ``example_kwargs``: the test says which).  Each role signs in once (one browser context
per role, one demo organization per module) and every page that answers it with HTML is loaded at both
widths; a page fails when

- it scrolls sideways (``scrollWidth`` wider than the window),
- a chart's title and legend overlap (plotly's ``.gtitle`` and ``.legend`` boxes),
- it asks any host but the server for anything (``page.on('request')``; such requests are aborted),
- it logs a console error or throws (``console`` of type error, ``pageerror``),
- a checkbox is not beside the text of its label, or a navigation link is cut off,
- or the server answers with a 5xx.

Screenshots: ``var/screens/<role>/<page>-<width>.png`` (CI keeps ``var/`` as artifacts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.test.utils import modify_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page
from pytest_django.live_server_helper import LiveServer

from metrics.core.models import DataSource, Team
from metrics.ingestion.models import Experiment, PullRequest, SurveyRound
from metrics.reports.content import report_build
from metrics.reports.models import ReportRun, ReportSchedule
from metrics.reports.periods import last_complete
from metrics.reports.rendering import report_html
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "var" / "screens"
ROLES = ("admin", "manager", "executive", "viewer", "anonymous")
WIDTHS = (1280, 390)

# Routes that are not pages for people: Django's admin, the API's data endpoints (the API's HTML pages,
# its docs, are in ``API_PAGES``), webhooks, the OpenTelemetry receiver, the MCP endpoint, the health
# check and the status bar's JSON (``freshness/``, polled by every page, so loaded with each of them).
NOT_PAGES = ("admin/", "api/v1/", "webhooks/", "otlp/", "mcp", "healthz", "freshness/")
API_PAGES = ("api:docs", "api:redoc")
NOT_FOUND = "/no-such-page/"

# The demo is committed once for the module (``demo``); each test runs in a transaction rolled back after
# it (pytest-django sets up the test database only for tests marked so).
pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    params: tuple[str, ...]


def routes(patterns: list[Any] | None = None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    """Every named route of the URLconf, with its full route text and parameter names."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from routes(pattern.url_patterns, text, inner)
        elif isinstance(pattern, URLPattern):
            params = tuple(re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", text))
            yield Route(f"{namespace}{pattern.name or ''}", text, tuple(a or b for a, b in params))


def page_routes() -> list[Route]:
    return [r for r in routes() if r.name in API_PAGES or not r.route.lstrip("^").startswith(NOT_PAGES)]


@dataclass
class Demo:
    server: LiveServer
    examples: dict[str, dict[str, Any]]
    cookies: dict[str, str] = field(default_factory=dict)  # role -> session id


def example_kwargs(demo: Demo, route: Route) -> dict[str, Any] | None:
    """Example arguments for a parametrised route: by route name, else by parameter name."""
    if route.name in demo.examples:
        return demo.examples[route.name]
    by_param = demo.examples["*"]
    if all(p in by_param for p in route.params):
        return {p: by_param[p] for p in route.params}
    return None


def _report_run(schedule: ReportSchedule) -> ReportRun:
    period = last_complete(schedule.period, timezone.now().date())
    html = report_html(report_build(period=period, team_ids=[], title=schedule.name), mode="pdf")
    return ReportRun.objects.create(
        schedule=schedule,
        period_start=period.start,
        period_end=period.end,
        status=ReportRun.Status.SENT,
        html=html,
        finished_at=timezone.now(),
        next_attempt_at=timezone.now(),
    )


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[Demo]:
    """The small demo organization, one user per role and a server, once for the module (the pages only
    read, so the tests share them); everything is flushed afterwards."""
    with django_db_blocker.unblock():
        cache.clear()
        call_command("load_demo", "--small", verbosity=0)
        # A team with sub-teams: its page links to them, its manager sees their people.
        parent = Team.objects.filter(children__isnull=False).distinct().order_by("name").first()
        assert parent is not None
        users = {
            "admin": make_user("pages-admin", "admin"),
            "manager": make_user("pages-manager", "manager", (parent,)),
            "executive": make_user("pages-executive", "executive"),
            "viewer": make_user("pages-viewer", "viewer"),
        }
        pr = PullRequest.objects.filter(merged_at__isnull=False).select_related("repository").first()
        survey = SurveyRound.objects.order_by("-opened_at").first()
        source = DataSource.objects.create(name="pages-git", kind=DataSource.Kind.GIT, options={"path": "/x"})
        schedule = ReportSchedule.objects.create(
            name="Monthly pages", period="monthly", audience="cfo@example.com", timezone="UTC"
        )
        run = _report_run(schedule)
        experiment = Experiment.objects.order_by("pk").first()  # the demo's staggered rollout
        assert pr is not None and survey is not None and experiment is not None
        examples: dict[str, dict[str, Any]] = {
            "*": {
                "slug": parent.slug,
                "repository": pr.repository.full_name,
                "number": pr.number,
                "round_id": survey.pk,
                "name": "sextant.css",
                "path": "swagger-ui.css",
                "uidb64": "MQ",
                "token": "set-password",
            },
            "web:settings_user": {"pk": users["manager"].pk},
            "web:settings_identity_link": {"pk": pr.author_id},  # POST only: a GET is a 405, not a page
            **{
                r.name: {"pk": source.pk}
                for r in routes()
                if r.name.startswith("web:settings_source_") and r.params == ("pk",)
            },
            **{
                r.name: {"pk": run.pk}
                for r in routes()
                if r.name.startswith("reports:run_") and r.params == ("pk",)
            },
            **{
                r.name: {"pk": schedule.pk}
                for r in routes()
                if r.name.startswith("reports:schedule_") and r.params == ("pk",)
            },
            **{
                r.name: {"pk": experiment.pk}
                for r in routes()
                if r.name.startswith("web:experiment") and r.params == ("pk",)
            },
        }
        cookies = {}
        for role, user in users.items():
            client = Client()
            client.force_login(user)
            cookies[role] = client.cookies["sessionid"].value
        server = LiveServer("127.0.0.1:0")
        with modify_settings(ALLOWED_HOSTS={"append": "127.0.0.1"}):
            try:
                yield Demo(server, examples, cookies)
            finally:
                server.stop()
                call_command("flush", interactive=False, verbosity=0)
                cache.clear()


def test_every_route_with_parameters_has_an_example(demo: Demo) -> None:
    missing = [f"{r.name} ({r.route})" for r in page_routes() if r.params and example_kwargs(demo, r) is None]
    assert not missing, f"add example arguments for these routes to example_kwargs: {missing}"
    unnamed = [r.route for r in page_routes() if not r.name or r.name.endswith(":")]
    assert not unnamed, f"name these routes, so the every-page test can list them: {unnamed}"


def urls(demo: Demo) -> list[tuple[str, str]]:
    """(short name for the screenshot, path) of every page, and a missing one for the 404 page."""
    found = {NOT_FOUND: "404"}
    for route in page_routes():
        kwargs = example_kwargs(demo, route) if route.params else {}
        if kwargs is not None:
            found.setdefault(
                reverse(route.name, kwargs=kwargs), route.name.replace("web:", "").replace(":", "-")
            )
    return [(name, path) for path, name in found.items()]


@pytest.fixture(scope="module")
def contexts(browser: Browser, demo: Demo) -> Iterator[dict[str, BrowserContext]]:
    made = {}
    for role in ROLES:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        if role in demo.cookies:
            context.add_cookies([{"name": "sessionid", "value": demo.cookies[role], "url": demo.server.url}])
        made[role] = context
    yield made
    for context in made.values():
        context.close()


def chart_overlaps(page: Page) -> list[str]:
    """Charts whose title box intersects their legend box."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap((plot) => {
            const title = plot.querySelector('.gtitle'), legend = plot.querySelector('.legend');
            if (!title || !legend) return [];
            const a = title.getBoundingClientRect(), b = legend.getBoundingClientRect();
            const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
            const which = plot.id || plot.dataset.chart || 'a chart';
            return apart ? [] : [which + ': "' + title.textContent + '"'];
        })"""
    )


def wait_for_charts(page: Page) -> None:
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.chart[data-chart]'))
                   .every((el) => el.querySelector('.main-svg'))""",
        timeout=20_000,
    )


# The outermost elements that reach past the window's right edge: what makes a page scroll sideways.
WIDEST = """(inner) => Array.from(document.querySelectorAll('body *'))
    .filter((el) => el.getBoundingClientRect().right > inner + 1)
    .filter((el) => el.parentElement.getBoundingClientRect().right <= inner + 1)
    .slice(0, 3)
    .map((el) => el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className
                 ? '.' + el.className.trim().split(/ +/).join('.') : ''))"""


# Checkboxes and radio buttons that are not beside the text of their label (on its line, within 48 px).
CHECKBOXES_ADRIFT = """() => Array.from(
    document.querySelectorAll('label input[type=checkbox], label input[type=radio]'))
    .filter((box) => box.offsetParent !== null)
    .flatMap((box) => {
        const label = box.closest('label');
        const text = Array.from(label.childNodes).find((n) => n !== box && n.textContent.trim()
            && !(n.nodeType === 1 && ['INPUT', 'SELECT', 'TEXTAREA'].includes(n.tagName)));
        if (!text) return [];
        let t;
        if (text.nodeType === 3) {
            const range = document.createRange();
            range.selectNodeContents(text);
            t = range.getClientRects()[0];
        } else {
            t = text.getBoundingClientRect();
        }
        if (!t) return [];
        const b = box.getBoundingClientRect(), middle = b.top + b.height / 2;
        const gap = Math.min(Math.abs(t.left - b.right), Math.abs(b.left - t.right));
        const beside = middle >= t.top - 2 && middle <= t.bottom + 2 && gap < 48;
        return beside ? [] : [label.textContent.trim().slice(0, 40)];
    })"""


# Navigation links (main nav, settings tabs, breadcrumbs, page numbers) cut off by the window's edge or by
# a scrolling box: a section that cannot be seen ("Settings" at 390 px, the active settings tab).
NAV_CLIPPED = """() => Array.from(document.querySelectorAll('nav a')).filter((a) => a.offsetParent !== null)
    .flatMap((a) => {
        const r = a.getBoundingClientRect();
        let left = 0, right = window.innerWidth;
        for (let p = a.parentElement; p; p = p.parentElement) {
            if (getComputedStyle(p).overflowX !== 'visible') {
                const q = p.getBoundingClientRect();
                left = Math.max(left, q.left);
                right = Math.min(right, q.right);
            }
        }
        return r.left >= left - 1 && r.right <= right + 1 ? [] : [a.textContent.trim()];
    })"""


# Pages a script draws after "load" (the API docs fetch the schema first): checked once drawn.
DRAWN_BY_SCRIPT = {"api-docs": ".swagger-ui .info .title", "api-redoc": ".api-content"}


@dataclass(frozen=True)
class Probe:
    status: int
    content_type: str


PROBES: dict[tuple[str, str], Probe] = {}


def probe_page(context: BrowserContext, role: str, url: str) -> Probe:
    """What the server answers ``role`` at ``url`` (without following a redirect): the same at every
    width, so asked once per role."""
    if (role, url) not in PROBES:
        response = context.request.get(url, max_redirects=0)
        PROBES[role, url] = Probe(response.status, response.headers.get("content-type", ""))
    return PROBES[role, url]


@dataclass
class Visit:
    problems: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)


def layout_problems(page: Page) -> list[str]:
    """What is wrong with the layout of the page as loaded: sideways scroll, a navigation link cut off, a
    checkbox away from its label, a chart's title over its legend."""
    problems = []
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner + 1:
        problems.append(f"scrolls sideways ({scroll} > {inner} px): {page.evaluate(WIDEST, inner)}")
    problems += [f"navigation link cut off: {link!r}" for link in page.evaluate(NAV_CLIPPED)]
    problems += [f"a checkbox is not beside its label: {x!r}" for x in page.evaluate(CHECKBOXES_ADRIFT)]
    problems += [f"chart title overlaps its legend: {chart}" for chart in chart_overlaps(page)]
    return problems


def visit_all(context: BrowserContext, demo: Demo, role: str, width: int) -> Visit:
    """Load every page that answers ``role`` with HTML at ``width``; collect every problem."""
    base = demo.server.url
    origin = urlsplit(base).netloc
    result = Visit()
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    current: dict[str, Any] = {"name": "", "status": 0}
    outside: list[str] = []
    errors: list[str] = []

    def on_request(request: Any) -> None:
        if urlsplit(request.url).scheme in ("http", "https", "ws", "wss") and (
            urlsplit(request.url).netloc != origin
        ):
            outside.append(f"{current['name']}: {request.url}")

    page.on("request", on_request)
    page.route(re.compile(r"^(https?|wss?)://(?!" + re.escape(origin) + r"/).*"), lambda route: route.abort())

    def on_console(message: Any) -> None:
        # A 403/404 page is a page too: the browser logs its own status, which is no error of the page.
        expected = current["status"] >= 400 and message.location.get("url") == page.url
        if message.type == "error" and not (expected and message.text.startswith("Failed to load resource")):
            errors.append(f"{current['name']}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(f"{current['name']}: {e}"))
    shots = SCREENS / role
    seen_errors: set[int] = set()
    shots.mkdir(parents=True, exist_ok=True)
    for name, path in urls(demo):
        current["name"] = name
        probe = probe_page(context, role, base + path)
        result.statuses[name] = current["status"] = probe.status
        if probe.status >= 500:
            result.problems.append(f"{name} ({path}): HTTP {probe.status}")
            continue
        html = probe.content_type.startswith("text/html")
        if probe.status in (301, 302, 303, 307, 308, 405) or not html:
            continue
        if probe.status in (403, 404) and probe.status in seen_errors:
            continue  # one error page of each kind per role is enough: they are all the same template
        seen_errors.add(probe.status)
        page.goto(base + path, wait_until="load")
        wait_for_charts(page)
        if name in DRAWN_BY_SCRIPT:
            page.wait_for_selector(DRAWN_BY_SCRIPT[name], timeout=20_000)
        result.visited.append(name)
        result.problems += [f"{name} ({path}): {problem}" for problem in layout_problems(page)]
        page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
    page.close()
    result.problems += [f"request to another host: {u}" for u in outside]
    result.problems += [f"console error: {e}" for e in errors]
    return result


# Pages each role must see (HTML, loaded in the browser): a route that answers with an error or a
# redirect where a page is expected fails here too.
MUST_SEE = {
    "admin": {
        "overview",
        "team",
        "prs",
        "pr",
        "impact",
        "surveys-index",
        "settings_sources",
        "settings_teams",
        "settings_repositories",
        "settings_costs",
        "settings_users",
        "reports-archive",
        "api-docs",
        "api-redoc",
        "404",
    },
    "manager": {"overview", "team", "prs", "pr", "impact", "surveys-index", "reports-archive", "404"},
    "executive": {"overview", "team", "prs", "impact", "surveys-index", "404"},
    "viewer": {"overview", "team", "prs", "impact", "surveys-index", "404"},
    "anonymous": {"login", "404"},
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", ROLES)
def test_every_page(demo: Demo, contexts: dict[str, BrowserContext], role: str, width: int) -> None:
    result = visit_all(contexts[role], demo, role, width)
    missing = MUST_SEE[role] - set(result.visited)
    assert not missing, f"{role} did not get these pages: {sorted(missing)} (statuses {result.statuses})"
    assert not result.problems, "\n".join(result.problems)


def row_order(page: Page) -> list[str]:
    return page.eval_on_selector_all("tbody[data-sort-body] tr", "(rows) => rows.map((r) => r.dataset.team)")


def indents(page: Page) -> set[str]:
    return set(
        page.eval_on_selector_all(
            "tbody[data-sort-body] th.team-cell",
            "(cells) => cells.map((c) => getComputedStyle(c).paddingLeft)",
        )
    )


def test_overview_sort_period_and_team_links_keep_their_state(
    demo: Demo, contexts: dict[str, BrowserContext]
) -> None:
    """Sorted by a figure the overview is a ranking without the tree's indentation, and the sort is in the
    URL (a reload keeps it, so does another period); the period travels to a team page and from there to
    its breadcrumbs and sub-teams (issue 16, item 6: 'State is lost')."""
    base = demo.server.url
    page = contexts["admin"].new_page()
    page.goto(f"{base}/?period=week")
    tree = row_order(page)
    assert len(indents(page)) > 1  # a tree: sub-teams indented
    page.click("th[data-sort-key=cycle_time_p50] button")
    assert "sort=cycle_time_p50" in page.url and "dir=desc" in page.url and "period=week" in page.url
    ranked = row_order(page)
    assert ranked != tree and sorted(ranked) == sorted(tree)
    assert len(indents(page)) == 1  # a ranking: no indentation
    page.reload()
    assert row_order(page) == ranked and len(indents(page)) == 1
    page.select_option("select[name=period]", "month")
    page.wait_for_url("**period=month**")
    assert "sort=cycle_time_p50" in page.url and "dir=desc" in page.url
    assert page.get_attribute("th[data-sort-key=cycle_time_p50]", "aria-sort") == "descending"

    parent = page.eval_on_selector_all(
        "tbody[data-sort-body] tr", "(rows) => rows.map((r) => r.querySelector('a').getAttribute('href'))"
    )
    assert all(href.endswith("?period=month") for href in parent)
    page.goto(f"{base}/teams/{demo.examples['*']['slug']}/?period=month&range=12m")
    crumbs = page.eval_on_selector_all(".crumbs a", "(links) => links.map((a) => a.getAttribute('href'))")
    assert crumbs[0] == "/?period=month"
    children = page.eval_on_selector_all(
        ".page-head p.muted a", "(links) => links.map((a) => a.getAttribute('href'))"
    )
    assert children and all(href.endswith("?period=month&range=12m") for href in children)
    page.close()
