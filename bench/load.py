#!/usr/bin/env python
"""Load test: 50 concurrent clients against real gunicorn + PostgreSQL with 1,000,000 PRs.

Builds (or reuses; the build is bench/pages.py's: 1,000,000 PRs, 500 teams, 5,000 engineers, 2.3 million
snapshots, AI-impact estimates, a survey round) the PostgreSQL database --database-url, migrates it,
creates an admin user and an admin API token, starts gunicorn the way docker/entrypoint.sh does
(metrics.wsgi, 3 workers x 4 threads, Redis cache) on a free port of 127.0.0.1, signs in over HTTP, then
runs --clients closed-loop clients for --seconds after a --warmup.  Each client asks to keep its connection
alive (--no-keepalive: it does not ask; either way metrics/gunicorn_conf.py closes each connection after the
response, so the client reconnects for the next request, as behind a proxy) and sends its next
request as soon as the last one is answered (--think S: after a random pause of S seconds on average).
Each request is drawn from a fixed, weighted mix (each client starts on a different endpoint):
  REST export with the token: pull requests (team + since, page 1 and the next cursor page; repository +
  state + AI filters; CSV of a team's last 90 days), metric snapshots (team weekly, organization monthly,
  CSV of a team's months), teams, people, repositories, reviews, AI impact, survey results;
  pages with the session cookie: overview, team dashboard, PR explorer with filters, AI impact.
Prints the first request of each endpoint (one at a time, cold caches), where the CPU went during the run
(gunicorn and PostgreSQL per request, the load generator, everything else on the shared machine), the
total, throughput, p50/p90/p99/max overall and per endpoint, and the errors (a non-2xx status, an
unexpected content type or a connection error; the first few samples).  Exits 1 when there was an error
or p99 >= 1 s.  The per-token API throttle is raised for the run (all clients share one token: this
measures the server, not the throttle).

Usage: python bench/load.py [--clients 50] [--seconds 60] [--think 0] [--rows 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadtest.cpu import CpuMeter, machine
from bench.loadtest.driver import P99_TARGET_S, drive, overall_p99, prime, report
from bench.loadtest.mix import mix, targets
from bench.loadtest.server import credentials, flush_cache, gunicorn, login, prepare_database, server_env

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/sextant_load"
DEFAULT_CACHE = "redis://127.0.0.1:6379/14"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before timing starts")
    parser.add_argument("--think", type=float, default=0, help="mean pause between a client's requests (s)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--cache-url", default=DEFAULT_CACHE, help="Redis database of the Django cache")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--no-keepalive", action="store_true", help="a new connection per request (a proxy in front)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metrics.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    prepare_database(args.database_url, args.rows, args.rebuild)
    username, password, token = credentials()
    endpoints = mix(targets())
    flush_cache(args.cache_url)
    var = ROOT / "var" / "load"
    var.mkdir(parents=True, exist_ok=True)
    env = server_env(args.database_url, args.cache_url, var)
    with gunicorn(env, var / "gunicorn.log", args.workers, args.threads) as server:
        cookie = login(server.port, username, password)
        print(
            f"{args.rows:,} PRs; gunicorn {args.workers} workers x {args.threads} threads on "
            f"127.0.0.1:{server.port}; {args.clients} clients for {args.seconds:.0f} s after a "
            f"{args.warmup:.0f} s warm-up, think time {args.think:g} s, "
            f"{'a connection per request' if args.no_keepalive else 'keep-alive'}; "
            f"{len(endpoints)} endpoints",
            flush=True,
        )
        first = prime(server.port, token, cookie, endpoints)
        print(
            "first request of each endpoint, one at a time (cold caches), ms: "
            + ", ".join(f"{name} {values[0] * 1000:.0f}" for name, values in sorted(first.latencies.items())),
            flush=True,
        )
        print(f"before: {machine()}", flush=True)
        assert server.process is not None
        meter = CpuMeter(server.process.pid, args.database_url)
        meter.start()
        result = drive(
            server.port,
            token,
            cookie,
            endpoints,
            clients=args.clients,
            seconds=args.seconds,
            warmup=args.warmup,
            think=args.think,
            keepalive=not args.no_keepalive,
        )
        meter.stop()
        print(f"after:  {machine()}")
        print(meter.summary(result.requests + result.warmup_requests))
    result.errors += first.errors
    result.samples[:0] = first.samples
    print(report(result))
    p99 = overall_p99(result)
    ok = result.errors == 0 and p99 < P99_TARGET_S and server.exit_code == 0
    print(f"gunicorn stopped with exit code {server.exit_code}")
    print(
        f"target 0 errors and p99 < {P99_TARGET_S:g} s: {'met' if ok else 'NOT met'} "
        f"({result.errors} errors, p99 {p99 * 1000:.0f} ms)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
