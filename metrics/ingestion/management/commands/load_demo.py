"""``manage.py load_demo``: the deterministic demo organization (connectors/demo.py), stored like any import.

The planted truths (AI adoption dates, the AI cycle-time factor, exact counts) are kept in
``Organization.settings["demo_truth"]`` so that anyone can check what Sextant recovers against them.
Loading twice stores nothing twice: every record is upserted on its natural key.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from tqdm import tqdm

from connectors.demo import DEFAULT_SEED, generate_demo
from connectors.demo_extras import DemoExtras
from connectors.records import AISeatRecord, Record, RepositoryRecord, TeamMembershipRecord
from metrics.core.models import AITool, Organization
from metrics.ingestion.experiments import demo_experiment
from metrics.ingestion.models import Commit, PullRequest, Review
from metrics.ingestion.recompute import RecomputeOutcome, recompute_request
from metrics.ingestion.seats import seat_counts_set
from metrics.ingestion.services import records_ingest
from metrics.ingestion.surveys import survey_responses_import

DEMO_ORGANIZATION = "Acme (demo)"
SMALL = {"teams": 4, "engineers": 16, "months": 6}  # for tests: a few hundred PRs instead of thousands


def _batches(records: list[Record]) -> list[tuple[str, list[Record]]]:
    """Teams, people and their AI seats first, then one batch per repository (its commits, PRs and
    reviews together)."""
    people = [r for r in records if isinstance(r, TeamMembershipRecord | AISeatRecord)]
    by_repo: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        if isinstance(record, RepositoryRecord):
            by_repo[record.full_name].append(record)
        elif not isinstance(record, TeamMembershipRecord | AISeatRecord):
            by_repo[record.repository].append(record)
    return [("teams and people", people), *by_repo.items()]


def _surveys_and_seats(extras: DemoExtras) -> None:
    """Survey rounds answered above the privacy floor, seat counts, and a price for every tool (a price an
    admin already set is kept), so satisfaction, self-reported ROI and spend have data on first run."""
    for name, answers in extras.surveys.items():
        survey_responses_import(records=answers, round_name=name)
    seat_counts_set(records=extras.seat_counts, source="demo")
    for tool, price in extras.prices.items():
        AITool.objects.get_or_create(name=tool, defaults={"monthly_seat_cost": Decimal(str(price))})


class Command(BaseCommand):
    help = (
        "Load the deterministic demo organization (teams, people, repositories, ~18 months of pull requests, "
        "monthly survey rounds, AI seats and seat prices) and keep its planted truths in the organization's "
        "settings. Safe to run twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when any pull request is already stored"
        )
        parser.add_argument("--small", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and PullRequest.objects.exists():
            self.stdout.write(
                "Pull requests are already stored; the demo organization was not loaded (--if-empty)."
            )
            return
        seed: int = options["seed"]
        demo = generate_demo(seed, **(SMALL if options["small"] else {}))
        quiet = options["verbosity"] == 0
        with transaction.atomic():
            batches = tqdm(
                _batches(demo.records),
                desc="Loading demo",
                unit="batch",
                file=sys.stderr,
                disable=quiet or None,  # None: no bar when stderr is not a terminal
            )
            for name, batch in batches:
                if not quiet:
                    tqdm.write(f"  {name}: {len(batch)} records", file=sys.stderr)
                records_ingest(records=batch)
            _surveys_and_seats(demo.extras)
            org = Organization.objects.order_by("pk").first() or Organization(name=DEMO_ORGANIZATION)
            org.settings = {**(org.settings or {}), "demo_truth": demo.truth}
            org.save()
            demo_experiment(demo.truth)  # a staggered rollout run as an experiment (ingestion/experiments.py)
        outcome = recompute_request(reason=f"load_demo seed {seed}")
        self._summary(seed, demo.truth, outcome)

    def _summary(self, seed: int, truth: dict[str, Any], outcome: RecomputeOutcome) -> None:
        counts = truth["counts"]
        prs = PullRequest.objects.count()
        merged = PullRequest.objects.filter(state=PullRequest.State.MERGED).count()
        reverted = PullRequest.objects.filter(reverted_at__isnull=False).count()
        ai = PullRequest.objects.filter(ai_assisted=True).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization loaded (seed {seed}): {prs} PRs ({merged} merged), "
                f"{Commit.objects.count()} commits, {Review.objects.count()} reviews, "
                f"{reverted} reverted PRs, {ai} AI-assisted PRs detected "
                f"(planted: {counts['ai_assisted_marked_prs']} marked of "
                f"{counts['ai_assisted_prs']} AI-assisted)" + f"; {outcome}."
            )
        )
