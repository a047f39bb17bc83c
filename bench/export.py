#!/usr/bin/env python
"""Benchmark: stream 1,000,000 PRs as CSV through the real view vs PostgreSQL's own COPY.

Builds N pull requests (default 1,000,000, in 10 repositories of N/10) in the PostgreSQL database of
DATABASE_URL with one INSERT ... SELECT generate_series (kept between runs; --rebuild to redo), then
in the same run (interleaved, best of --repeat) times
  baseline:  COPY (<the SELECT the view runs>) TO STDOUT WITH (FORMAT csv), read and discarded
  context:   COPY (SELECT * FROM ingestion_pullrequest) TO STDOUT (raw columns, no joins/formatting)
  sextant:   GET /api/v1/pull-requests/?format=csv with a bearer token (Django test client: the whole
             view stack: auth, throttle, filters, StreamingHttpResponse), COPY path and cursor path
and prints rows/s and the ratio to the baseline (target >= 1/3), then the peak RSS of a fresh process
exporting one repository (N/10 rows) and everything (N rows) (target: flat, < 300 MB).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/sextant_bench python bench/export.py [--rows N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metrics.settings")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
REPOS = 10

BUILD_SQL = """
TRUNCATE core_team, core_person, core_repository, ingestion_pullrequest, api_apitoken
  RESTART IDENTITY CASCADE;
INSERT INTO core_team (id, name, slug, parent_id) SELECT g, 'Bench ' || g, 'bench-' || g, NULL
  FROM generate_series(1, {repos}) g;
INSERT INTO core_person (id, display_name, is_bot, created_at) SELECT g, 'Dev ' || g, g % 50 = 0, now()
  FROM generate_series(1, 2000) g;
INSERT INTO core_repository (id, full_name, host, default_branch, url, team_id)
  SELECT g, 'bench/repo-' || (g - 1), 'git', 'main', '', g FROM generate_series(1, {repos}) g;
INSERT INTO ingestion_pullrequest (
  id, repository_id, number, title, body, author_id, state, is_draft, created_at, ready_at, first_commit_at,
  first_review_at, approved_at, merged_at, closed_at, additions, deletions, changed_files, commits_count,
  head_branch, base_branch, merge_sha, merge_style, labels, is_bot, ai_assisted, ai_tools, reverts_number,
  revert_of_id, reverted_at, updated_at)
SELECT g, (g - 1) / {per_repo} + 1, g, 'Change ' || g || ', "quoted", part ' || (g % 7), '', g % 2000 + 1,
  CASE WHEN g % 10 = 0 THEN 'open' ELSE 'merged' END, false,
  t + interval '2 hours', t + interval '3 hours', t, t + interval '5 hours', t + interval '9 hours',
  CASE WHEN g % 10 = 0 THEN NULL ELSE t + interval '30 hours' END,
  CASE WHEN g % 10 = 0 THEN NULL ELSE t + interval '30 hours' END,
  g % 500, g % 120, g % 30 + 1, g % 9 + 1, 'dev/' || g, 'main', md5(g::text), 'merge', '[]'::jsonb,
  g % 2000 = 49, g % 3 = 0,
  CASE WHEN g % 3 = 0 THEN '["claude"]'::jsonb WHEN g % 5 = 0 THEN '["copilot", "cursor"]'::jsonb
       ELSE '[]'::jsonb END,
  NULL, CASE WHEN g % 100 = 0 AND (g - 1) % {per_repo} > 0 THEN g - 1 END,
  CASE WHEN g % 100 = 99 THEN t + interval '50 hours' END, t + interval '31 hours'
FROM generate_series(1, {rows}) g,
  LATERAL (SELECT timestamptz '2023-01-01' + g * interval '47 seconds' AS t) x;
SELECT setval(pg_get_serial_sequence('ingestion_pullrequest', 'id'), {rows});
SELECT setval(pg_get_serial_sequence('core_person', 'id'), 2000);
SELECT setval(pg_get_serial_sequence('core_team', 'id'), {repos});
SELECT setval(pg_get_serial_sequence('core_repository', 'id'), {repos});
ANALYZE;
"""


def setup_django() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/export.py needs DATABASE_URL=postgres://.../<bench database> (it compares with COPY)")
    import django

    django.setup()


def build(rows: int, rebuild: bool) -> None:
    from django.core.management import call_command
    from django.db import connection

    from metrics.ingestion.models import PullRequest

    call_command("migrate", verbosity=0)
    if not rebuild and PullRequest.objects.count() == rows:
        print(f"reusing {rows:,} PRs already in the bench database", flush=True)
        return
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BUILD_SQL.format(rows=rows, repos=REPOS, per_repo=rows // REPOS))
    print(f"built {rows:,} PRs in {time.perf_counter() - start:.1f} s", flush=True)


def view_select() -> tuple[str, list]:
    """The SELECT the CSV view runs for an unscoped admin token without filters."""
    from metrics.api import column_types, columns, selectors
    from metrics.api.access import Access

    access = Access(role="admin", team_ids=None)
    rows = selectors.pull_request_rows(access, {}).order_by("id")
    values = column_types.csv_values(columns.PULL_REQUESTS, access)
    sql, params = rows.values_list(*values).query.sql_with_params()
    return sql, list(params)


def copy_out(statement: str, params: list) -> tuple[int, int, float, str]:
    """(rows, bytes, seconds, sha256) of a COPY ... TO STDOUT read to the end."""
    from django.db import connection

    digest, rows, size = hashlib.sha256(), 0, 0
    start = time.perf_counter()
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params or None) as copy:
        for block in copy:
            rows += 1
            size += len(block)
            digest.update(block)
    return rows, size, time.perf_counter() - start, digest.hexdigest()


def rss_mb() -> float:
    """Current resident set size (not the lifetime peak, which would hide the export behind start-up)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


PEAK = {"rss_mb": 0.0}


def view_export(query: str, copy_path: bool) -> tuple[int, int, float, str]:
    """(rows, bytes, seconds, sha256 of the body after the header) of one CSV export through the view;
    samples the RSS every 8 chunks into PEAK."""
    from django.test import Client

    from metrics.api.tokens import api_token_create

    os.environ["SEXTANT_API_CSV_COPY"] = "1" if copy_path else "0"
    os.environ["SEXTANT_API_RATE"] = "1000000/min"
    _token, raw = api_token_create(name="bench", role="admin")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_HOST="localhost")
    digest, lines, size, header = hashlib.sha256(), 0, 0, True
    start = time.perf_counter()
    response = client.get(f"/api/v1/pull-requests/?format=csv{query}")
    if response.status_code != 200:
        return 0, 0, time.perf_counter() - start, ""
    for n, chunk in enumerate(response.streaming_content):
        if n % 8 == 0:
            PEAK["rss_mb"] = max(PEAK["rss_mb"], rss_mb())
        if header:  # the first chunk is the header line alone
            header = False
            continue
        lines += chunk.count(b"\n")
        size += len(chunk)
        digest.update(chunk)
    return lines, size, time.perf_counter() - start, digest.hexdigest()


def child(query: str, copy_path: bool) -> None:
    """One export in a fresh process; prints its rows, time and peak RSS as JSON."""
    setup_django()
    view_export("&repository=none/such", copy_path)  # warm-up: loads every URL module and view (a 400)
    before = rss_mb()
    rows, _size, seconds, _digest = view_export(query, copy_path)
    lifetime_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "before_mb": before,
                "during_mb": PEAK["rss_mb"],
                "lifetime_peak_mb": lifetime_peak,
            }
        )
    )


def memory(query: str, copy_path: bool) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", query, *([] if copy_path else ["--cursor"])],
        check=False,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    if out.returncode != 0:
        sys.exit(f"the export child process failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def line(label: str, rows: int, seconds: float, baseline: float | None = None) -> str:
    rate = rows / seconds
    ratio = f"   {rate / baseline:5.2f}x COPY" if baseline else ""
    return f"  {label:<44} {rows:>9,} rows {seconds:7.2f} s {rate:>11,.0f} rows/s{ratio}"


def best(runs: list[tuple[int, int, float, str]]) -> tuple[int, int, float, str]:
    return min(runs, key=lambda run: run[2])


def timed_runs(repeat: int) -> dict[str, tuple[int, int, float, str]]:
    """The fastest of ``repeat`` interleaved runs of each variant (other load hits every variant alike)."""
    sql, params = view_select()
    copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    raw_sql = "COPY (SELECT * FROM ingestion_pullrequest) TO STDOUT WITH (FORMAT csv)"
    runs: dict[str, list] = {"copy": [], "raw": [], "view-copy": [], "view-cursor": []}
    for _ in range(repeat):
        runs["copy"].append(copy_out(copy_sql, params))
        runs["raw"].append(copy_out(raw_sql, []))
        runs["view-copy"].append(view_export("", copy_path=True))
        runs["view-cursor"].append(view_export("", copy_path=False))
    return {key: min(found, key=lambda run: run[2]) for key, found in runs.items()}


def report_speed(rows: int, repeat: int) -> None:
    best = timed_runs(repeat)
    base_rows, _, base_s, base_digest = best["copy"]
    baseline = base_rows / base_s
    print(f"CSV export of {rows:,} pull requests (PostgreSQL, same run, best of {repeat}):")
    print(line("COPY (the view's SELECT) TO STDOUT  [baseline]", base_rows, base_s))
    print(line("COPY (SELECT * raw table) TO STDOUT  [context]", best["raw"][0], best["raw"][2], baseline))
    for key, label in (
        ("view-copy", "view ?format=csv, COPY path (default)"),
        ("view-cursor", "view ?format=csv, cursor path"),
    ):
        view_rows, _, seconds, digest = best[key]
        assert view_rows == base_rows, (view_rows, base_rows)
        same = "  same bytes as baseline" if digest == base_digest else ""
        print(line(label, view_rows, seconds, baseline) + same)


def report_memory() -> None:
    print(
        "RSS of a fresh process exporting (after a warm-up request -> highest while streaming; "
        "lifetime peak):"
    )
    for copy_path, label in ((True, "COPY path"), (False, "cursor path")):
        parts = []
        for query in ("&repository=bench/repo-0", ""):  # one repository (rows / 10), then everything
            m = memory(query, copy_path)
            parts.append(
                f"{m['rows']:>9,} rows {m['before_mb']:5.0f} -> {m['during_mb']:5.0f} MB "
                f"(peak {m['lifetime_peak_mb']:.0f})"
            )
        print(f"  {label:<12} " + "   |   ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each; the fastest counts")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--memory-only", action="store_true", help="skip the timed runs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cursor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, copy_path=not args.cursor)
        return
    setup_django()
    build(args.rows, args.rebuild)
    if not args.memory_only:
        report_speed(args.rows, args.repeat)
    report_memory()


if __name__ == "__main__":
    main()
