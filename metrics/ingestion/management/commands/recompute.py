"""``manage.py recompute [--queue] [--ai-impact-only]``: recompute the metrics on demand (operators).

By default the recompute runs here, under the recompute lock (it waits for one running on a worker), and
ends with a summary line.  ``--queue`` asks the analytics workers instead (a broker must be configured).
Syncs, imports and settings changes ask by themselves (``metrics.ingestion.recompute``); this is for
after a manual database change, a restored backup, or a new release's metric definitions.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth, MetricSnapshot, PullRequest
from metrics.ingestion.recompute import Part, broker_error, recompute_now, recompute_send


class Command(BaseCommand):
    help = (
        "Recompute every metric snapshot, AI-impact estimate and ROI row now, here (one recompute at a "
        "time: waits for a running one). --queue asks the analytics workers instead; --ai-impact-only "
        "recomputes only the AI-impact estimates and ROI (after prices or ROI settings changed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue",
            action="store_true",
            help="ask the analytics workers (needs CELERY_BROKER_URL); default: compute here",
        )
        parser.add_argument(
            "--ai-impact-only", action="store_true", help="only the AI-impact estimates and the ROI table"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        part: Part = "ai_impact" if options["ai_impact_only"] else "all"
        what = "AI impact and ROI" if part == "ai_impact" else "metrics"
        if options["queue"]:
            if not settings.CELERY_BROKER_URL:
                raise CommandError(
                    "--queue needs a broker (CELERY_BROKER_URL is not set); "
                    "run without --queue to compute here"
                )
            try:
                recompute_send(reason="manage.py recompute --queue", part=part)
            except Exception as exc:  # the broker's own error names the problem (refused, unknown host)
                raise CommandError(f"could not queue the {what} recompute: {broker_error(exc)}") from None
            self.stdout.write(self.style.SUCCESS(f"{what.capitalize()} recompute queued on 'analytics'."))
            return
        if options["verbosity"] > 0:
            self.stderr.write(f"Recomputing {what} from {PullRequest.objects.count()} pull requests ...")
        outcome = recompute_now(reason="manage.py recompute", part=part)
        snapshots = "" if part == "ai_impact" else f"{MetricSnapshot.objects.count()} snapshot rows, "
        self.stdout.write(
            self.style.SUCCESS(
                f"Recomputed {what} in {outcome.seconds:.1f} s: {snapshots}"
                f"{AIImpactEstimate.objects.count()} AI-impact estimates, "
                f"{AIRoiMonth.objects.count()} ROI rows."
            )
        )
