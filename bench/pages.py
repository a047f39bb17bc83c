#!/usr/bin/env python
"""Benchmark: server time of the organization overview and a team dashboard with 1,000,000 PRs.

Builds, in the PostgreSQL database of DATABASE_URL (kept between runs; --rebuild to redo), with
INSERT ... SELECT generate_series:
  500 teams (25 groups of 19 teams), 5,000 engineers in them, 50 repositories, N pull requests (default
  1,000,000) over 104 weeks, metric snapshots for every team x 104 weeks (and x 24 months) x every metric,
  the organization, person-scope monthly rows, AI-impact estimates, ROI rows and one survey round answered
  by 3,000 engineers (so the satisfaction column and trend go through the privacy floor for real).
Then times, interleaved in the same run, through Django's whole stack (test client: middleware, session,
auth, view, template):
  trivial:  a view that returns "ok" (the baseline: what any request costs on this machine right now)
  overview: GET /                       (every team, sparklines, trends, satisfaction)
  team:     GET /teams/<one of 500>/    (eight charts, KPIs, people table, satisfaction trend)
and prints p50/p95 of each and the p95 ratio to the trivial view (target: p95 < 150 ms).  The overview
table is cached under a key that follows the data; "overview, table not cached" is what the first visitor
after a recompute waits for.  The survey floor's cold cost (once per change of the answers) is printed last.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/sextant_pages_bench python bench/pages.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metrics.settings")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")

GROUPS, PER_GROUP, PEOPLE, REPOS, WEEKS, MONTHS = 25, 19, 5000, 50, 104, 24
TEAMS = GROUPS * (PER_GROUP + 1)
LEAF_TEAMS = GROUPS * PER_GROUP

BUILD_SQL = """
TRUNCATE core_team, core_person, core_repository, ingestion_pullrequest, ingestion_metricsnapshot,
  ingestion_aiimpactestimate, ingestion_airoimonth, ingestion_surveyround, ingestion_surveyresponse,
  ingestion_syncrun RESTART IDENTITY CASCADE;
INSERT INTO core_team (id, name, slug, parent_id)
  SELECT g, 'Group ' || g, 'group-' || g, NULL FROM generate_series(1, {groups}) g;
INSERT INTO core_team (id, name, slug, parent_id)
  SELECT {groups} + g, 'Team ' || g, 'team-' || g, (g - 1) / {per_group} + 1
  FROM generate_series(1, {leaves}) g;
INSERT INTO core_person (id, display_name, is_bot, created_at)
  SELECT g, 'Engineer ' || g, false, now() FROM generate_series(1, {people}) g;
INSERT INTO core_identity (person_id, kind, value, key)
  SELECT g, 'email', 'e' || g || '@bench.example', 'email:e' || g || '@bench.example'
  FROM generate_series(1, {people}) g;
INSERT INTO core_teammembership (person_id, team_id, start, "end")
  SELECT g, {groups} + (g - 1) % {leaves} + 1, NULL, NULL FROM generate_series(1, {people}) g;
INSERT INTO core_repository (id, full_name, host, default_branch, url, team_id)
  SELECT g, 'bench/repo-' || g, 'github', 'main', 'https://github.example/bench/repo-' || g, NULL
  FROM generate_series(1, {repos}) g;
INSERT INTO ingestion_pullrequest (
  repository_id, number, title, body, author_id, state, is_draft, created_at, ready_at, first_commit_at,
  first_review_at, approved_at, merged_at, closed_at, additions, deletions, changed_files, commits_count,
  head_branch, base_branch, merge_sha, merge_style, labels, is_bot, ai_assisted, ai_tools, reverts_number,
  revert_of_id, reverted_at, updated_at)
SELECT g % {repos} + 1, g, 'Change ' || g, '', g % {people} + 1,
  CASE WHEN g % 20 = 0 THEN 'open' ELSE 'merged' END, false, t, t, t - interval '6 hours',
  t + interval '4 hours', t + interval '20 hours',
  CASE WHEN g % 20 = 0 THEN NULL ELSE t + interval '30 hours' END, NULL,
  g % 400, g % 90, g % 20 + 1, g % 6 + 1, 'b/' || g, 'main', md5(g::text), 'merge', '[]'::jsonb,
  false, g % 4 = 0, CASE WHEN g % 4 = 0 THEN '["Claude Code"]'::jsonb ELSE '[]'::jsonb END, NULL, NULL,
  CASE WHEN g % 50 = 0 THEN t + interval '80 hours' END, t + interval '31 hours'
FROM generate_series(1, {rows}) g,
  LATERAL (SELECT {start}::timestamptz + (g::float / {rows}) * interval '{weeks} weeks' AS t) x;
CREATE TEMP TABLE bench_metrics (metric text, base float, spread float) ON COMMIT DROP;
INSERT INTO bench_metrics VALUES
  ('cycle_time_p50', 30, 20), ('cycle_time_p75', 60, 30), ('cycle_time_p90', 120, 60),
  ('coding_time_p50', 8, 5), ('coding_time_p75', 16, 8), ('coding_time_p90', 40, 20),
  ('pickup_time_p50', 6, 4), ('pickup_time_p75', 12, 6), ('pickup_time_p90', 30, 10),
  ('rework_time_p50', 4, 3), ('rework_time_p75', 9, 5), ('rework_time_p90', 20, 10),
  ('merge_wait_time_p50', 2, 2), ('merge_wait_time_p75', 5, 3), ('merge_wait_time_p90', 12, 6),
  ('review_time_p50', 7, 4), ('review_time_p75', 14, 7), ('review_time_p90', 32, 12),
  ('pr_size_p50', 80, 40), ('pr_size_p75', 200, 80), ('pr_size_p90', 600, 200),
  ('time_to_revert_p50', 40, 30), ('time_to_revert_p75', 70, 30), ('time_to_revert_p90', 120, 40),
  ('merged_prs', 20, 10), ('throughput_per_engineer', 2, 1), ('revert_rate', 0.02, 0.02),
  ('ai_assisted_share', 0.25, 0.2);
INSERT INTO ingestion_metricsnapshot (scope, team_id, repository_id, person_id, period, period_start, metric,
  value, n, definition_version, computed_at)
SELECT 'team', t, NULL, NULL, 'week', ({start}::date + w * 7), m.metric, m.base + random() * m.spread,
  10 + (t + w) % 20, '1.1', now()
FROM generate_series(1, {teams}) t, generate_series(0, {weeks} - 1) w, bench_metrics m;
INSERT INTO ingestion_metricsnapshot (scope, team_id, repository_id, person_id, period, period_start, metric,
  value, n, definition_version, computed_at)
SELECT 'team', t, NULL, NULL, 'month', (date_trunc('month', {start}::date) + mo * interval '1 month')::date,
  m.metric, m.base + random() * m.spread, 40 + (t + mo) % 40, '1.1', now()
FROM generate_series(1, {teams}) t, generate_series(0, {months} - 1) mo,
  (SELECT * FROM bench_metrics UNION ALL VALUES ('ai_adoption_any_share', 0.4, 0.3),
   ('ai_adoption_regular_share', 0.2, 0.2)) m;
INSERT INTO ingestion_metricsnapshot (scope, team_id, repository_id, person_id, period, period_start, metric,
  value, n, definition_version, computed_at)
SELECT 'organization', NULL, NULL, NULL, p.period, p.start, m.metric, m.base + random() * m.spread, 5000,
  '1.1', now()
FROM (SELECT 'week' AS period, ({start}::date + w * 7) AS start FROM generate_series(0, {weeks} - 1) w
      UNION ALL SELECT 'month', (date_trunc('month', {start}::date) + mo * interval '1 month')::date
      FROM generate_series(0, {months} - 1) mo) p, bench_metrics m;
INSERT INTO ingestion_metricsnapshot (scope, team_id, repository_id, person_id, period, period_start, metric,
  value, n, definition_version, computed_at)
SELECT 'person', NULL, NULL, p, 'month',
  (date_trunc('month', {start}::date) + mo * interval '1 month')::date, m.metric,
  m.base + random() * m.spread, 4, '1.1', now()
FROM generate_series(1, {people}) p, generate_series(0, {months} - 1) mo,
  (VALUES ('merged_prs', 2, 6), ('cycle_time_p50', 20, 30), ('pr_size_p50', 50, 100),
          ('ai_adoption_level', 0, 2.9)) m(metric, base, spread);
INSERT INTO ingestion_aiimpactestimate (scope, team_id, outcome, method, rule, unit, estimate, ci_low,
  ci_high, n, n_treated, n_clusters, status, definition_version, computed_at)
VALUES ('organization', NULL, 'cycle_time', 'adjusted', 'any', 'percent_change', -13.2, -18.6, -7.6,
        950000, 237500, 5000, 'ok', '1.1', now()),
       ('organization', NULL, 'cycle_time', 'naive', 'any', 'percent_change', -39.3, -43.6, -34.7,
        950000, 237500, 5000, 'ok', '1.1', now());
INSERT INTO ingestion_surveyround (id, name, opened_at, closes_at, created_by_id)
  VALUES (1, 'Bench pulse', now() - interval '20 days', now() - interval '6 days', NULL);
INSERT INTO ingestion_surveyround_teams (surveyround_id, team_id)
  SELECT 1, g FROM generate_series(1, {groups}) g;
INSERT INTO ingestion_surveyresponse (survey_round_id, person_id, team_id, submitted_at, overall_satisfaction,
  ease_of_shipping, ai_hours_saved_per_week, ai_tool, ai_frequency, free_text, source, external_id)
SELECT 1, g, {groups} + (g - 1) % {leaves} + 1, now() - interval '10 days', 1 + g % 5, 1 + (g * 7) % 5,
  (g % 8)::float, 'Claude Code', 'weekly', '', 'builtin', 'round:1:person:' || g
FROM generate_series(1, 3000) g;
SELECT setval(pg_get_serial_sequence('core_team', 'id'), {teams});
SELECT setval(pg_get_serial_sequence('core_person', 'id'), {people});
SELECT setval(pg_get_serial_sequence('core_repository', 'id'), {repos});
SELECT setval(pg_get_serial_sequence('ingestion_surveyround', 'id'), 1);
ANALYZE;
"""


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/pages.py needs DATABASE_URL=postgres://.../<bench database>")
    import django

    django.setup()


def build(rows: int, rebuild: bool) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from metrics.ingestion.models import MetricSnapshot, PullRequest

    call_command("migrate", verbosity=0)
    if not rebuild and PullRequest.objects.count() == rows and MetricSnapshot.objects.exists():
        print(f"reusing {rows:,} PRs already in the bench database", flush=True)
        return
    # 104 whole weeks ending with the last Monday, so the newest week has ended like in real use.
    start = f"(date_trunc('week', now())::date - {WEEKS * 7})"
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            BUILD_SQL.format(
                rows=rows,
                groups=GROUPS,
                per_group=PER_GROUP,
                leaves=LEAF_TEAMS,
                teams=TEAMS,
                people=PEOPLE,
                repos=REPOS,
                weeks=WEEKS,
                months=MONTHS,
                start=start,
            )
        )
    print(
        f"built {rows:,} PRs and {MetricSnapshot.objects.count():,} snapshots in "
        f"{time.perf_counter() - began:.0f} s",
        flush=True,
    )


def trivial(request: object) -> object:
    from django.http import HttpResponse

    return HttpResponse("ok", content_type="text/plain")


def client() -> object:
    """A logged-in admin (sees everything: the most work per page) on a URLconf with the trivial view."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import clear_url_caches, path

    import metrics.urls

    metrics.urls.urlpatterns.insert(0, path("bench-trivial/", trivial))
    clear_url_caches()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    c = Client(HTTP_HOST="localhost")
    c.force_login(user)
    return c


def cold_table_get(c: object) -> Callable[[str], object]:
    """GET with the overview's table cache switched off (what the first visitor after a recompute waits
    for); the survey scores keep their own cache, whose cold cost is timed once by ``survey_cold``."""
    from django.core.cache.backends.dummy import DummyCache

    from metrics.web import overview

    def get(url: str) -> object:
        real = overview.cache
        overview.cache = DummyCache("bench", {})
        try:
            return c.get(url)  # type: ignore[attr-defined]
        finally:
            overview.cache = real

    return get


def survey_cold() -> float:
    """Seconds to compute one survey round's floored results for the whole team tree (a cache miss)."""
    from metrics.ingestion.models import SurveyRound
    from metrics.web.satisfaction import _compute

    began = time.perf_counter()
    _compute(SurveyRound.objects.get(pk=1))
    return time.perf_counter() - began


def timed(get: Callable[[str], object], url: str) -> float:
    began = time.perf_counter()
    response = get(url)
    elapsed = time.perf_counter() - began
    if response.status_code != 200:  # type: ignore[attr-defined]
        sys.exit(f"GET {url} answered {response.status_code}")  # type: ignore[attr-defined]
    return elapsed * 1000


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page (after warm-up)")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    setup_django()
    build(args.rows, args.rebuild)
    c = client()
    rng = random.Random(7)
    slugs = [f"team-{rng.randint(1, LEAF_TEAMS)}" for _ in range(args.requests + 5)]
    cold = cold_table_get(c)
    pages: dict[str, tuple[Callable[[str], object], Callable[[int], str]]] = {
        "trivial view": (c.get, lambda i: "/bench-trivial/"),  # type: ignore[attr-defined]
        "overview  GET /": (c.get, lambda i: "/"),  # type: ignore[attr-defined]
        "overview, table not cached": (cold, lambda i: "/"),
        "team      GET /teams/<slug>/": (c.get, lambda i: f"/teams/{slugs[i]}/"),  # type: ignore[attr-defined]
    }
    for i in range(5):  # warm-up: imports, template compilation, connection, caches
        for get, url in pages.values():
            timed(get, url(i))
    times: dict[str, list[float]] = {name: [] for name in pages}
    for i in range(args.requests):  # interleaved, so other load on the machine hits every page alike
        for name, (get, url) in pages.items():
            times[name].append(timed(get, url(i + 5)))
    base = p95(times["trivial view"])
    print(f"{args.rows:,} PRs, {TEAMS} teams, {args.requests} requests per page, server time in ms")
    for name, values in times.items():
        ratio = "" if name == "trivial view" else f"   p95 = {p95(values) / base:5.1f}x trivial"
        print(f"  {name:<30} p50 {statistics.median(values):7.1f}   p95 {p95(values):7.1f}{ratio}")
    served = ("overview  GET /", "team      GET /teams/<slug>/")
    worst = max(p95(times[n]) for n in served)
    verdict = "met" if worst < 150 else "NOT met"
    print(
        f"target p95 < 150 ms (overview and team dashboard as served): {verdict} "
        f"(worst p95 {worst:.1f} ms = {worst / base:.1f}x the trivial view)"
    )
    print(
        f"survey round results for {TEAMS} teams, computed once per change of its answers or the team tree "
        f"(cached after): {survey_cold():.1f} s"
    )


if __name__ == "__main__":
    main()
