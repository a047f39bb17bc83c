"""Golden HTML of the busiest pages (overview, team dashboard, PR explorer) for every role.

The files under ``tests/web/golden/`` (``*.golden``: expected page text, data rather than code) were
captured before the tables moved from Python f-strings into templates (issue 14, item 5); the pages must
still print the same thing.  Whitespace, the CSRF token, the
freshness line ("Synced 3 min ago") and database ids are normalized, so only what a reader sees is
compared.  After an intended change of a page: ``GOLDEN_UPDATE=1 pytest tests/web/test_golden_html.py``
rewrites the files; review their diff like code.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest
from django.test import Client

from tests.web.conftest import Org, page

GOLDEN = Path(__file__).resolve().parent / "golden"
ROLES = ("admin", "checkout", "executive", "viewer")  # "checkout": the manager of Checkout only
PAGES = {
    "overview": (
        "/",
        "/?period=week",
        "/?period=month&team=product",
        "/?period=month&at=2025-05-01",
        "/?period=week&team=checkout",
    ),
    "team": ("/teams/checkout/", "/teams/checkout/?period=month", "/teams/product/?period=month&range=all"),
    "prs": (
        "/prs/",
        "/prs/?team=checkout&sort=-cycle",
        "/prs/?state=merged&ai=yes&sort=size",
        "/prs/?repository=acme/api&bots=yes&sort=merged",
    ),
}


def normalize(html: str, people: dict[int, str]) -> str:
    """What a reader sees, without what changes from run to run (tokens, "3 min ago", ids)."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken" value="-"', html)

    def fresh(match: re.Match[str]) -> str:
        text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "<when>", match.group(0))
        return re.sub(r"(\d+ (min|h|days) ago|just now)", "<ago>", text)

    html = re.sub(r'<p class="freshness".*?</p>', fresh, html, flags=re.S)
    # Person ids differ between databases (PostgreSQL sequences are not rolled back): name them instead.
    html = re.sub(
        r'(data-person="|author=|<option value=")(\d+)(?=["&])',  # an id, not "3m" (3 months)
        lambda m: m.group(1) + people.get(int(m.group(2)), m.group(2)),
        html,
    )
    # One character written two ways (the entity or itself), kept visible: it indents the team tree.
    html = html.replace("&nbsp;", "\u00a0").replace("\u00a0", "{nbsp}")
    html = re.sub(r"\s+", " ", html)
    return re.sub(r">\s+<", "><", html).replace("> ", ">").replace(" <", "<").strip()


def file_name(role: str, url: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "root"
    return f"{role}--{slug}.golden"


@pytest.mark.parametrize("group", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_pages_match_their_golden_html(org: Org, clients: dict[str, Client], role: str, group: str) -> None:
    named = (org.alice, org.bob, org.carol, org.dave)
    people = {p.pk: f"person-{p.display_name.split()[0].lower()}" for p in named}
    update = os.environ.get("GOLDEN_UPDATE") == "1"
    differences = []
    for url in PAGES[group]:
        got = normalize(page(clients[role], url), people)
        path = GOLDEN / file_name(role, url)
        if update:
            GOLDEN.mkdir(exist_ok=True)
            path.write_text(got.replace("><", ">\n<") + "\n", encoding="utf-8")
            continue
        want = path.read_text(encoding="utf-8").replace(">\n<", "><").strip()
        if got != want:
            diff = difflib.unified_diff(
                want.replace("><", ">\n<").splitlines(),
                got.replace("><", ">\n<").splitlines(),
                "golden",
                "now",
                lineterm="",
                n=2,
            )
            differences.append(f"{role} GET {url}:\n" + "\n".join(list(diff)[:60]))
    assert not differences, "\n\n".join(differences)
