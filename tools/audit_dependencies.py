"""Audit the installed Python distributions for known vulnerabilities (PyPI's advisories, from OSV).

CI tooling, not part of the shipped package: ``make audit`` (run by ``.ci/run``) calls
``python -m tools.audit_dependencies``.  Exits 1 on a known vulnerability, 2 when the index cannot be
asked; with --strict also 1 when a package could only be partly audited or was not found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from tools import depaudit


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audit_dependencies", description=__doc__.splitlines()[0])
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
    parser.add_argument("--strict", action="store_true", help="fail on partly audited or unknown packages")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per HTTP request")
    return parser


def main(argv: list[str] | None = None, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    options = _parser().parse_args(argv)
    packages, local = depaudit.installed_packages()
    try:
        report = depaudit.audit(
            packages,
            index=options.index_url,
            ignore=options.ignore_vuln,
            fetch=depaudit.http_fetch(options.timeout),
            local=local,
        )
    except depaudit.AuditError as exc:
        print(f"dependency audit could not run: {exc}", file=stderr)
        return 2
    except Exception as exc:  # never exit 1 ("vulnerable") for a failure of the audit itself
        print(f"dependency audit could not run: {type(exc).__name__}: {exc}", file=stderr)
        return 2
    if options.format == "json":
        print(json.dumps(report.as_json(), indent=2), file=stdout)
    else:
        for line in depaudit.render(report):
            print(line, file=stdout)
    if report.vulnerable:
        print(
            "known vulnerabilities in: " + ", ".join(f"{p.name} {p.version}" for p in report.vulnerable),
            file=stderr,
        )
        return 1
    unknown = [p for p in report.packages if p.coverage in ("partial", "not on the index")]
    if options.strict and unknown:
        print(
            "--strict: not fully audited: " + ", ".join(f"{p.name} {p.version}" for p in unknown), file=stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
