"""The access matrix, generated: every role (and each with Django's ``is_staff`` set, and API tokens)
x every web URL (enumerated from the URL resolver, path parameters filled with real objects) and every
API endpoint (JSON and CSV, with ``author``, ``team`` and ``ordering`` parameters) x the README's role
table.  A planted name inside the manager's team, one outside it, and a planted money figure appear
exactly where the table allows and nowhere else; settings and reports answer only the roles allowed.

One test per role; each collects every failure as one line (``LEAK``, ``MISSING``, ``STATUS``), so a
broken rule shows how far it reaches.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from metrics.api.tokens import api_token_create
from metrics.core.models import AITool, DataSource, Person, Repository, Team
from metrics.ingestion.models import AIRoiMonth, MetricSnapshot, Review
from metrics.reports.models import ReportRun, ReportSchedule
from metrics.web.models import UserProfile
from tests.factories import make_estimate, make_round
from tests.web.conftest import make_person, make_pr

README = Path(__file__).resolve().parents[2] / "README.md"
INSIDE, OUTSIDE = "Zelda Plantname", "Yorick Plantname"  # in the manager's team (a sub-team), outside it
MONEY = ("98765", "98,765")  # seat price 98,765 a month -> spend 98,765; net values 198,765 and 1,098,765
SETTINGS_PREFIX = "/settings/"


@dataclass(frozen=True)
class Rule:
    inside: bool  # sees the name of a person in the manager's team
    outside: bool  # sees the name of a person outside it
    money: bool
    settings: bool
    reports: bool


def readme_rules() -> dict[str, Rule]:
    """The README's role table, read as rules (so the table and the test cannot drift apart)."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| role | sees |") :].split("\n\n")[0]
    found = re.finditer(r"^\| (\w[^|]*) \| ([^|]+) \|$", table, re.M)
    rows = {m.group(1).split()[0]: m.group(2) for m in found if m.group(1) != "role"}
    rules = {}
    for role, sees in rows.items():
        everything = sees.startswith("everything")
        names = everything or ("names" in sees and "only for their own teams" in sees)
        no_money = "without names or money" in sees
        rules[role] = Rule(
            inside=names,
            outside=everything,
            money=everything or ("costs" in sees and not no_money),
            settings="settings" in sees,
            reports=role in ("admin", "manager"),
        )
    # /reports/ is "executive report runs and schedules (admins and managers)" in the page table.
    assert "| `/reports/` | executive report runs and schedules (admins and managers)" in text
    return rules


RULES = readme_rules()
ROLES = {  # matrix role -> (README role, how the user is made)
    **{
        f"{role}{'+staff' if staff else ''}": (role, {"role": role, "staff": staff})
        for role in ("admin", "manager", "executive", "viewer")
        for staff in (False, True)
    },
    "superuser": ("admin", {"superuser": True}),
}
TOKENS = {
    "token-admin": "admin",
    "token-manager": "manager",
    "token-executive": "executive",
    "token-viewer": "viewer",
}


def test_the_readme_table_reads_as_expected() -> None:
    assert {
        "admin": Rule(True, True, True, True, True),
        "manager": Rule(True, False, True, False, True),
        "executive": Rule(False, False, True, False, False),
        "viewer": Rule(False, False, False, False, False),
    } == RULES


@dataclass
class World:
    xray: Team
    sub: Team
    outer: Team
    inside: Person
    outside: Person
    values: dict[str, Any]


def build_world() -> World:
    xray = Team.objects.create(name="Xray", slug="xray")
    sub = Team.objects.create(name="Xray Kids", slug="xray-kids", parent=xray)
    outer = Team.objects.create(name="Outer", slug="outer")
    inside = make_person(INSIDE, "zelda@example.com", (sub, None, None))
    outside = make_person(OUTSIDE, "yorick@example.com", (outer, None, None))
    mine = Repository.objects.create(full_name="acme/xray", host="github", team=xray)
    theirs = Repository.objects.create(full_name="acme/outer", host="github", team=outer)
    merged = timezone.now() - dt.timedelta(days=3)
    pr_in = make_pr(mine, 1, inside, merged=merged, head_branch="zelda-work")
    pr_out = make_pr(theirs, 2, outside, merged=merged, head_branch="yorick-work")
    Review.objects.create(pull_request=pr_in, reviewer=outside, state="approved", submitted_at=merged)
    Review.objects.create(pull_request=pr_out, reviewer=inside, state="approved", submitted_at=merged)
    month = (timezone.now().date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)  # a month ended
    for team in (xray, sub, outer, None):
        for metric, value in (("merged_prs", 1.0), ("throughput_per_engineer", 1.0)):
            MetricSnapshot.objects.create(
                scope="organization" if team is None else "team",
                team=team,
                period="month",
                period_start=month,
                metric=metric,
                value=value,
                n=1,
                definition_version="1.1",
            )
    for person in (inside, outside):
        MetricSnapshot.objects.create(
            scope="person",
            person=person,
            period="month",
            period_start=month,
            metric="merged_prs",
            value=1.0,
            n=1,
            definition_version="1.1",
        )
    AITool.objects.create(name="Plantbot", monthly_seat_cost=98765)
    make_estimate(estimate=-10.0, ci_low=-15.0, ci_high=-5.0)
    money = {
        "spend": 98765.0,
        "measured_net": 198765.0,
        "measured_net_low": 98765.0,
        "measured_net_high": 1098765.0,
        "measured_hours": 3.0,
    }
    for team in (None, xray):
        AIRoiMonth.objects.create(month=month, tool="Plantbot", team=team, ai_prs=1, **money)
    survey_round = make_round(teams=[xray], name="Plant round")
    source = DataSource.objects.create(name="plant-src", kind="git", options={"path": "/nonexistent"})
    schedule = ReportSchedule.objects.create(name="Plant schedule", audience="boss@example.com")
    run = ReportRun.objects.create(
        schedule=schedule,
        period_start=month,
        period_end=month,
        status="succeeded",
        html="<p>archived report</p>",
    )
    values = {
        "slug": [xray.slug, sub.slug, outer.slug],
        "round_id": [survey_round.pk],
        "name": ["sextant.css"],
        "uidb64": ["x"],
        "token": ["y"],
        "path": ["swagger-ui.css"],
        "repository": [mine.full_name, theirs.full_name],
        "number": [pr_in.number, pr_out.number],
        "pk": {
            "reports:run_pdf": run.pk,
            "reports:run_html": run.pk,
            "reports:schedule_edit": schedule.pk,
            **plant_experiment(inside, outside, sub, outer),  # issue 20: its pages and assignment list
        },
        "source": source.pk,
        "source_name": [source.name],  # the OTLP receiver's /otlp/<source>/v1/... (POST only)
    }
    return World(xray, sub, outer, inside, outside, values)


def plant_experiment(inside: Person, outside: Person, sub: Team, outer: Team) -> dict[str, int]:
    """A frozen rollout assigning both planted people (the assignment list names them: admins only)."""
    from metrics.analytics.experiments import plan_hash
    from metrics.ingestion.models import Experiment, ExperimentAssignment, ExperimentPlan

    content = {"design": "randomized", "unit": "person", "tool": "plantbot", "outcomes": ["cycle_time"]}
    content |= {"waves": ["2030-01-06"], "end": "2030-03-01", "eligible_team_ids": [sub.pk, outer.pk]}
    experiment = Experiment.objects.create(name="Plant rollout", tool="plantbot")
    ExperimentPlan.objects.create(
        experiment=experiment, version=1, content=content, sha256=plan_hash(content), frozen_at=timezone.now()
    )
    for person, team, arm in ((inside, sub, 1), (outside, outer, 0)):
        ExperimentAssignment.objects.create(
            experiment=experiment, person=person, team=team, stratum="s", arm=arm
        )
    names = ("web:experiment", "web:experiment_edit", "web:experiment_freeze", "web:experiment_revise")
    return dict.fromkeys(names, experiment.pk)


def make_user(name: str, spec: dict[str, Any], world: World) -> Any:
    model = get_user_model()
    if spec.get("superuser"):
        return model.objects.create_superuser(username=name, email=f"{name}@example.com")
    user = model.objects.create_user(username=name, email=f"{name}@example.com", is_staff=spec["staff"])
    profile = UserProfile.objects.create(user=user, role=spec["role"])
    if spec["role"] == "manager":
        profile.teams.set([world.xray])
    return user


def _walk(resolver: URLResolver, namespace: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # the admin site is enumerated from its registry below
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found += _walk(pattern, inner)
        elif pattern.name:
            found.append((f"{namespace}{pattern.name}", pattern))
    return found


def web_urls(world: World) -> list[str]:
    """Every named URL of the resolver with its parameters filled with real objects (a URL with a
    parameter this test cannot fill fails it: extend ``values``)."""
    urls: set[str] = set()
    for name, pattern in _walk(get_resolver()):
        if name.startswith("api:") and name not in ("api:docs-asset", "api:schema", "api:docs", "api:redoc"):
            continue  # the export endpoints: see api_urls
        params = list(pattern.pattern.regex.groupindex)
        if not params:
            urls.add(reverse(name))
            continue
        kwargs_options: list[dict[str, Any]] = [{}]
        for param in params:
            if param == "pk":
                pk = world.values["pk"].get(name, world.values["source"])
                if name == "web:settings_user":
                    pk = get_user_model().objects.order_by("pk").first().pk
                choices = [pk]
            else:
                assert param in world.values, f"{name}: no value for the path parameter {param!r}"
                choices = world.values[param]
            kwargs_options = [{**k, param: c} for k in kwargs_options for c in choices]
        urls.update(reverse(name, kwargs=k) for k in kwargs_options)
    urls.update(
        {
            "/?team=xray",
            "/?period=week",
            f"/prs/?author={world.inside.pk}",
            f"/prs/?author={world.outside.pk}",
            "/prs/?team=outer",
            "/prs/?team=xray",
            "/prs/?team=xray&sort=-merged",
            "/teams/outer/?period=month",
            "/teams/xray-kids/?period=month",
            "/teams/xray/?period=month",
            "/admin/",
            f"/api/v1/experiment-assignments/?experiment={world.values['pk']['web:experiment']}&format=csv",
            *(
                reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
                for m in admin.site._registry
            ),
        }
    )
    if Person in admin.site._registry:  # the planted people's admin pages
        urls.update(reverse("admin:core_person_change", args=[p.pk]) for p in (world.inside, world.outside))
    return sorted(urls)


def api_urls(world: World) -> list[str]:
    names = [
        n
        for n, _ in _walk(get_resolver())
        if n.startswith("api:") and n not in ("api:docs-asset", "api:schema", "api:docs", "api:redoc")
    ]
    params = [
        "",
        "team=xray",
        "team=outer",
        f"team=xray-kids&author={world.inside.pk}&ordering=-id",
        f"author={world.outside.pk}&ordering=-id",
    ]
    queries = ["&".join(p for p in (q, f) if p) for q in params for f in ("", "format=csv")]
    return [f"{reverse(n)}?{q}" if q else reverse(n) for n in names for q in queries]


def body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


MUST_SHOW = {  # where an allowed role must see the planted value (else the matrix proves nothing)
    "inside": [
        "/api/v1/people/",
        "/api/v1/people/?format=csv",
        "/teams/xray-kids/?period=month",
        "/prs/?team=xray",
        "/prs/acme/xray/1/",
    ],
    "outside": [
        "/api/v1/people/",
        "/api/v1/people/?format=csv",
        "/teams/outer/?period=month",
        "/prs/acme/outer/2/",
    ],
    "money": ["/api/v1/ai-roi/", "/api/v1/ai-roi/?format=csv", "/ai-impact/"],
}


def check(role: str, rule: Rule, client: Client, urls: list[str], api_only: bool = False) -> list[str]:
    failures = []
    shown: dict[str, set[str]] = {"inside": set(), "outside": set(), "money": set()}
    for url in urls:
        response = client.get(url)
        text = body(response) if response.status_code < 500 else ""
        if response.status_code >= 500:
            failures.append(f"STATUS {role} {url}: {response.status_code}")
        planted = (
            ("inside", rule.inside, (INSIDE,)),
            ("outside", rule.outside, (OUTSIDE,)),
            ("money", rule.money, MONEY),
        )
        for what, allowed, needles in planted:
            if any(n in text for n in needles):
                shown[what].add(url)
                if not allowed:
                    failures.append(f"LEAK {role} {url}: {what} ({needles[0]})")
        ok = response.status_code == 200
        if url.startswith(SETTINGS_PREFIX) and ok and not rule.settings:
            failures.append(f"STATUS {role} {url}: 200 without the settings right")
        if url.startswith("/reports/") and ok and not rule.reports:
            failures.append(f"STATUS {role} {url}: 200 without the reports right")
    for what, urls_needed in MUST_SHOW.items():
        if getattr(rule, what):
            wanted = [u for u in urls_needed if u.startswith("/api/") or not api_only]
            assert set(wanted) <= set(urls), "a URL that must show a planted value is not in the matrix"
            failures += [f"MISSING {role} {u}: {what}" for u in wanted if u not in shown[what]]
    return failures


@pytest.mark.parametrize("role", sorted(ROLES))
def test_user_role_matrix(role: str, db: None) -> None:
    world = build_world()
    table_role, spec = ROLES[role]
    client = Client()
    client.force_login(make_user(role.replace("+", "-"), spec, world))
    urls = web_urls(world) + api_urls(world)
    failures = check(role, RULES[table_role], client, urls)
    form = client.get("/surveys/new/").content.decode()
    offered = {t.slug for t in (world.xray, world.sub, world.outer) if f'value="{t.pk}"' in form}
    expected = {"admin": {"xray", "xray-kids", "outer"}, "manager": {"xray", "xray-kids"}}.get(table_role)
    if offered != (expected or set()):
        failures.append(f"SURVEY {role} /surveys/new/: offers {sorted(offered)}, expected {sorted(expected)}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", sorted(TOKENS))
def test_token_matrix(role: str, db: None) -> None:
    """Tokens: the manager token is limited to Xray (and below), so only its people exist for it."""
    world = build_world()
    table_role = TOKENS[role]
    slugs = ["xray"] if table_role == "manager" else []
    _, raw = api_token_create(name=role, role=table_role, team_slugs=slugs)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    rule = RULES[table_role]
    urls = [u for u in api_urls(world) if not (slugs and "team=outer" in u)]  # outside the scope: 403
    failures = check(role, rule, client, urls, api_only=True)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
