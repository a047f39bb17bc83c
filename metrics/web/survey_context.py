"""Page context for the survey pages, built only from floored results (``RoundResults``).

Nothing here reads responses: every number comes from :func:`metrics.ingestion.surveys.survey_round_results`,
so a group below the floor can only ever be rendered as a "hidden for privacy" message.
"""

from __future__ import annotations

import json
import math
from typing import Any

import plotly.graph_objects as go

from metrics.analytics import surveys as analytics
from metrics.analytics.team_tree import TeamTree
from metrics.ingestion.models import SurveyRound
from metrics.ingestion.selectors import team_frame
from metrics.web import display

MEAN_QUESTIONS = analytics.NUMERIC
SHORT = {
    "overall_satisfaction": "Satisfaction",
    "ease_of_shipping": "Ease of shipping",
    "ai_hours_saved_per_week": "AI hours saved / week",
    "ai_tool": "AI tool used most",
    "ai_frequency": "AI use",
}


def hidden_message(reason: str, min_size: int) -> str:
    if reason == analytics.SUBTRACTION:
        return (
            f"hidden for privacy — shown beside the groups above it, it would reveal a group of fewer "
            f"than {min_size} respondents"
        )
    return f"fewer than {min_size} respondents — hidden for privacy"


def answers_hidden_message(min_size: int) -> str:
    return f"fewer than {min_size} answers — hidden for privacy"


def format_mean(question: str, value: float) -> str:
    if question == "ai_hours_saved_per_week":
        return f"{value:.1f} h"
    return f"{value:.2f}"


def format_rate(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.0%}"


def _mean_cells(results: analytics.RoundResults, group: str) -> list[dict[str, Any]]:
    means = results.means[results.means["group"] == group].set_index("question")
    cells = []
    for question in MEAN_QUESTIONS:
        if question in means.index:
            row = means.loc[question]
            cells.append(
                {
                    "question": question,
                    "display": format_mean(question, float(row["mean"])),
                    "n": int(row["n"]),
                    "hidden": "",
                }
            )
        else:
            cells.append(
                {
                    "question": question,
                    "display": "",
                    "n": None,
                    "hidden": answers_hidden_message(results.min_size),
                }
            )
    return cells


def group_rows(results: analytics.RoundResults) -> list[dict[str, Any]]:
    """One row per group in tree order: either its numbers, or only its name and why it is hidden."""
    rows = []
    for row in results.groups.itertuples(index=False):
        depth = int(row.depth)
        base = {"group": row.group, "name": row.name, "depth": depth, "indent": depth * 1.25}
        if row.hidden:
            rows.append({**base, "hidden": hidden_message(str(row.hidden), results.min_size)})
            continue
        rows.append(
            {
                **base,
                "hidden": "",
                "respondents": int(row.respondents),
                "members": int(row.members),
                "rate": format_rate(float(row.response_rate)),
                "cells": _mean_cells(results, str(row.group)),
            }
        )
    return rows


def distributions(results: analytics.RoundResults, group: str) -> list[dict[str, Any]]:
    """Per question, the answer bars of ``group`` (already floored: absent means hidden)."""
    mine = results.distributions[results.distributions["group"] == group]
    blocks = []
    for question in (*analytics.NUMERIC, *analytics.CATEGORICAL):
        rows = mine[mine["question"] == question]
        bars = [
            {
                "label": r.label,
                "count": int(r.count),
                "share": f"{r.share:.0%}",
                "width": f"{100 * r.share:.1f}",
            }
            for r in rows.itertuples(index=False)
        ]
        blocks.append(
            {
                "question": question,
                "text": analytics.QUESTION[question].text,
                "short": SHORT[question],
                "bars": bars,
                "answers": sum(bar["count"] for bar in bars),
                "hidden": "" if bars else answers_hidden_message(results.min_size),
            }
        )
    return blocks


def trend_table(
    reference: analytics.RoundResults, rounds: list[tuple[SurveyRound, analytics.RoundResults]], question: str
) -> dict[str, Any]:
    """Rows = groups of this round, columns = rounds (oldest first), cells = the floored mean."""
    frame = analytics.results_trend(reference, [(r.pk, res) for r, res in rounds], question)
    rows = []
    for group, part in frame.groupby("group", sort=False):
        cells = []
        for item in part.itertuples(index=False):
            if item.status == "shown":
                cells.append({"display": format_mean(question, float(item.mean)), "n": int(item.n)})
            elif item.status == "hidden":
                title = (
                    f"hidden for privacy: fewer than {reference.min_size} respondents or answers, or "
                    "it would reveal a smaller group by subtraction"
                )
                cells.append({"display": "hidden", "n": None, "title": title})
            else:
                cells.append({"display": "—", "n": None, "title": "this team was not in that round"})
        first = part.iloc[0]
        rows.append(
            {"group": group, "name": first["name"], "indent": int(first["depth"]) * 1.25, "cells": cells}
        )
    return {"question": question, "short": SHORT[question], "rounds": [r for r, _ in rounds], "rows": rows}


def trend_chart(rounds: list[tuple[SurveyRound, analytics.RoundResults]]) -> str:
    """Whole-organization satisfaction and ease of shipping per round (rounds below the floor: gaps)."""
    names = [r.name for r, _ in rounds]
    fig = go.Figure()
    for question, color in (("overall_satisfaction", "#2563eb"), ("ease_of_shipping", "#059669")):
        values = []
        for _, results in rounds:
            found = results.means[
                (results.means["group"] == analytics.ROOT) & (results.means["question"] == question)
            ]
            values.append(float(found["mean"].iloc[0]) if len(found) else None)
        fig.add_trace(
            go.Scatter(
                x=names,
                y=values,
                name=SHORT[question],
                mode="lines+markers",
                line={"color": color, "width": 2},
                connectgaps=False,
            )
        )
    fig.update_layout(
        title="Whole organization, by round",
        yaxis={"range": [1, 5], "title": "mean (1-5)"},
        margin={"l": 50, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h"},
        template="plotly_white",
    )
    return display.chart_html(json.loads(fig.to_json()), "chart-survey-trend")


def team_choices() -> list[dict[str, Any]]:
    """Every team in tree order (each under its parent), for the "open a round" form."""
    teams = team_frame()
    tree = analytics.group_tree(teams, TeamTree.from_frame(teams).tops)
    return [
        {"id": int(row.team_id), "name": row.name, "indent": (int(row.depth) - 1) * 1.25}
        for row in tree.iloc[1:].itertuples(index=False)
    ]


def _options(question: analytics.Question, value: object) -> list[dict[str, Any]]:
    keys: tuple[object, ...] = analytics.SCALE if question.kind == "scale" else analytics.FREQUENCIES
    current = "" if value is None else str(value)
    return [
        {"value": str(key), "label": label, "checked": str(key) == current}
        for key, label in zip(keys, question.labels, strict=True)
    ]


def answer_fields(values: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """The question set as form fields: current value (the person's saved or posted answer) and error."""
    fields = []
    for question in analytics.QUESTIONS:
        value = values.get(question.key)
        if question.kind == "hours" and isinstance(value, float):
            value = f"{value:g}"
        fields.append(
            {
                "q": question,
                "name": question.key,
                "value": "" if value is None else value,
                "error": errors.get(question.key, ""),
                "options": _options(question, value) if question.kind in ("scale", "frequency") else [],
            }
        )
    return fields
