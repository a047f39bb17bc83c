"""The metric catalog is pure and the docs say what it says."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

from metrics.analytics import catalog

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalog_imports_nothing_but_the_standard_library() -> None:
    tree = ast.parse((ROOT / "metrics/analytics/catalog.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert names <= {"__future__", "datetime", "collections.abc", "dataclasses", "typing"}, names


def test_one_pr_spans() -> None:
    t = {
        name: dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=h)
        for name, h in {
            "first_commit_at": 0,
            "created_at": 2,
            "approved_at": 5,
            "merged_at": 9,
            "first_review_at": 10,
        }.items()
    }
    spans = catalog.pr_spans(t)
    assert spans["cycle"] == 9 and spans["coding"] == 2 and spans["pickup"] == 8  # pickup ends at review
    assert spans["rework"] is None and spans["review"] is None  # review after merge/approval: dropped
    assert spans["merge_wait"] == 4 and spans["deploy"] is None
    del t["first_review_at"]
    assert catalog.pr_spans(t)["rework"] == 0  # approved without a review
    assert catalog.pr_spans(t)["pickup"] == 3  # ... picked up by the approval


def test_the_readme_table_names_every_metric_and_the_version() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"## Metrics (definition version {catalog.DEFINITION_VERSION})" in readme
    table = readme[readme.index("| metric | definition |") :]
    table = table[: table.index("\n\n")]
    named = set(re.findall(r"`([a-z0-9_]+?)(?:_p50/p75/p90|_\*)?`", table))
    families = {re.sub(r"_p(50|75|90)$", "", name) for name in catalog.METRICS}
    missing = families - named - {"ai_adoption_level", "ai_adoption_regular_share", "ai_adoption_any_share"}
    assert not missing, f"README metric table lacks {sorted(missing)}"


def test_the_api_doc_names_every_span_column() -> None:
    doc = (ROOT / "docs/api.md").read_text()
    for phase in catalog.PHASES:
        if phase.key != "deploy":
            assert f"`{phase.column}`" in doc, phase.column
