"""User-controlled text (team, PR, author and repository names) reaches the busiest pages only escaped, and
their HTML is written in templates, not in Python strings (issue 14, item 5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from metrics.core.models import Repository
from tests.web.conftest import Org, page

SCRIPT = "<script>x</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
ESCAPED = ("&lt;script&gt;x&lt;/script&gt;", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def planted(org: Org) -> Org:
    for team in (org.checkout, org.product):
        team.name = f"{team.name} {SCRIPT} {BREAKOUT}"
        team.save()
    for key in ("alice_ai", "dave_june", "carol"):
        pr = org.prs[key]
        pr.title = f"{SCRIPT} {BREAKOUT} {pr.title}"
        pr.head_branch = f"b/{SCRIPT}{BREAKOUT}"
        pr.save()
    org.alice.display_name = f"Alice {SCRIPT} {BREAKOUT}"
    org.alice.save()
    Repository.objects.filter(pk=org.api.pk).update(full_name=f"acme/{SCRIPT}{BREAKOUT}")
    return org


URLS = (
    "/",
    "/?period=week",
    "/?team=product",
    "/teams/checkout/",
    "/teams/checkout/?period=month",
    "/teams/product/",
    "/prs/",
    "/prs/?team=checkout",
)


@pytest.mark.parametrize("role", ["admin", "checkout", "executive", "viewer"])
def test_planted_markup_is_escaped_on_every_page(planted: Org, clients: dict[str, Client], role: str) -> None:
    seen_escaped = set()
    for url in URLS:
        html = page(clients[role], url)
        assert SCRIPT not in html, (role, url)
        assert "<img src=x" not in html, (role, url)
        assert "onerror=alert(1)>" not in html.replace("onerror=alert(1)&gt;", ""), (role, url)
        seen_escaped.update(text for text in ESCAPED if text in html)
        if url.startswith("/prs/"):
            # The planted PR titles are shown, escaped, to everyone who may see the PR list.
            assert f"{ESCAPED[0]} {ESCAPED[1]}" in html, (role, url)
    assert seen_escaped == set(ESCAPED), role


def test_team_name_escaped_in_overview_row_and_team_heading(planted: Org, clients: dict[str, Client]) -> None:
    overview = page(clients["admin"], "/")
    row = re.search(r'<tr data-order="\d+" data-team="checkout">.*?</th>', overview, re.S)
    assert row is not None and f"Checkout {ESCAPED[0]} {ESCAPED[1]}" in row.group(0)
    team = page(clients["admin"], "/teams/checkout/")
    assert f"<h1>Checkout {ESCAPED[0]} {ESCAPED[1]}</h1>" in team
    prs = page(clients["admin"], "/prs/")
    assert f"Alice {ESCAPED[0]} {ESCAPED[1]}" in prs  # the author column and the author filter


PAGE_MODULES = ("metrics/web/overview.py", "metrics/web/team.py", "metrics/web/prs.py")
HTML_IN_PYTHON = re.compile(r"mark_safe|SafeString\(|<(tr|td|th|option|li|span|div|a|svg|p)[ >]")


@pytest.mark.parametrize("module", PAGE_MODULES)
def test_page_modules_build_no_html(module: str) -> None:
    """Tables, options and rows are the templates' job (auto-escaped); Python passes values."""
    source = (ROOT / module).read_text(encoding="utf-8")
    found = [line.strip() for line in source.splitlines() if HTML_IN_PYTHON.search(line)]
    assert not found, found
