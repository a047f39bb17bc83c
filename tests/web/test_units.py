"""One unit per column (issue 16, item 6): 19.7 h above 6.1 d read as if the first were larger."""

from __future__ import annotations

from metrics.web import display
from metrics.web.overview import COLUMNS, Row, _trend, cell, one_unit_per_column


def test_a_column_of_hours_reads_in_days_when_any_figure_reaches_two_days() -> None:
    assert display.hours_unit([19.7, 146.4, None]) == "d"
    assert display.hours_unit([19.7, 47.9]) == "h"
    assert display.hours_unit([None]) == "h"
    assert display.hours(19.7, "d") == "0.8 d" and display.hours(146.4, "h") == "146.4 h"
    assert display.hours(19.7) == "19.7 h" and display.hours(146.4) == "6.1 d"  # alone: its own unit


def row(slug: str, cycle: float | None) -> Row:
    cells = [cell(metric, cycle if metric == "cycle_time_p50" else 0.5, 10) for metric, _ in COLUMNS]
    return Row(slug, "0.75", f"/teams/{slug}/", slug.title(), cells)


def test_the_overview_shows_every_team_and_the_organization_in_one_unit() -> None:
    index = [metric for metric, _ in COLUMNS].index("cycle_time_p50")
    rows = [row("search", 19.7), row("checkout", 146.4), row("data", None)]
    org = row("org", 40.0).cells
    rows, org = one_unit_per_column(rows, org)
    assert [r.cells[index].shown for r in rows] == ["0.8 d", "6.1 d", "—"]
    assert org is not None and org[index].shown == "1.7 d"
    short = one_unit_per_column([row("search", 19.7), row("data", 30.0)], None)[0]
    assert [r.cells[index].shown for r in short] == ["19.7 h", "30.0 h"]


def test_a_share_changes_in_points_as_in_the_report_other_figures_in_percent() -> None:
    """AI-assisted share 25% -> 30% is +5.0 pp on the page, as in the PDF (not +20%)."""
    assert _trend("ai_assisted_share", 0.30, 0.25)["text"] == "+5.0 pp vs previous period"
    assert _trend("revert_rate", 0.02, 0.04) == {
        "arrow": "▼",
        "text": "-2.0 pp vs previous period",
        "tone": "good",
    }
    assert _trend("ai_assisted_share", 0.30, 0.0)["text"] == "+30.0 pp vs previous period"  # from nothing
    assert _trend("ai_assisted_share", 0.2502, 0.25)["text"] == "no change"
    assert _trend("cycle_time_p50", 30.0, 40.0)["text"] == "-25% vs previous period"
    assert _trend("cycle_time_p50", 30.0, 0.0) == {}
