"""Audit the installed Python distributions for known vulnerabilities (PyPI's advisories, from OSV)."""
from __future__ import annotations

import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from metrics.core import depaudit


class Command(BaseCommand):
    help = (
        "Check every installed distribution against the vulnerabilities PyPI lists for it (the data "
        "pip-audit's PyPI service reads).  Exits 1 on a known vulnerability, 2 when the index cannot be "
        "asked; with --strict also 1 when a package could only be partly audited or was not found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--index-url",
            default=os.environ.get("DEPENDENCY_AUDIT_INDEX", depaudit.DEFAULT_INDEX),
            help="PyPI's JSON API (default: %(default)s; env DEPENDENCY_AUDIT_INDEX)",
        )
        parser.add_argument(
            "--ignore-vuln",
            action="append",
            default=[],
            metavar="ID",
            help="an advisory id or alias (PYSEC-, GHSA-, CVE-) accepted on purpose; repeatable",
        )
        parser.add_argument(
            "--strict", action="store_true", help="fail on partly audited or unknown packages"
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--timeout", type=float, default=20.0, help="seconds per HTTP request")

    def handle(self, *args: Any, **options: Any) -> None:
        packages, local = depaudit.installed_packages()
        try:
            report = depaudit.audit(
                packages,
                index=options["index_url"],
                ignore=options["ignore_vuln"],
                fetch=depaudit.http_fetch(options["timeout"]),
                local=local,
            )
        except depaudit.AuditError as exc:
            raise CommandError(f"dependency audit could not run: {exc}", returncode=2) from None
        except Exception as exc:  # never exit 1 ("vulnerable") for a failure of the audit itself
            raise CommandError(
                f"dependency audit could not run: {type(exc).__name__}: {exc}", returncode=2
            ) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            for line in depaudit.render(report):
                self.stdout.write(line)
        unknown = [p for p in report.packages if p.coverage in ("partial", "not on the index")]
        if report.vulnerable:
            raise CommandError(
                "known vulnerabilities in: " + ", ".join(f"{p.name} {p.version}" for p in report.vulnerable)
            )
        if options["strict"] and unknown:
            raise CommandError(
                "--strict: not fully audited: " + ", ".join(f"{p.name} {p.version}" for p in unknown)
            )
