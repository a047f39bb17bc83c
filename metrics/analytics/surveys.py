"""Developer satisfaction: the fixed question set, means, distributions, response rates, trends,
and the privacy floor that no survey result ever gets past.

Input frames
------------
``responses`` — one row per response: ``response_id`` (int), ``round_id`` (int), ``team_id`` (int or
<NA>: the team the respondent answered for), ``submitted_at`` (tz-aware UTC), the answers
``overall_satisfaction`` and ``ease_of_shipping`` (1..5, NaN = unanswered), ``ai_hours_saved_per_week``
(hours per week, >= 0, NaN = unanswered), ``ai_tool`` and ``ai_frequency`` (text, "" = unanswered) and,
for :func:`survey_comments`, ``free_text``.  A respondent answers a round once, so respondents =
responses.

``teams`` — the team tree: ``team_id``, ``parent_id`` (<NA> at the top), ``name``.

``members`` — who was asked: ``person_id``, ``team_id``, one row per membership at the round's opening.

Groups and the privacy floor
----------------------------
Results are shown per group (the whole round, and each team with the teams below it) and only above
the privacy floor: see :mod:`metrics.analytics.survey_groups`, whose names are re-exported here.

Results of different rounds are disjoint and may be shown side by side.  A round's results must not
also be shown split by month: the months would be overlapping groups outside this tree.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from metrics.analytics.survey_groups import (
    ROOT,
    ROOT_NAME,
    SMALL,
    SUBTRACTION,
    apply_group_floor,
    expand_to_groups,
    floor_status,
    group_tree,
)

__all__ = [
    "QUESTIONS",
    "ROOT",
    "ROOT_NAME",
    "SMALL",
    "SUBTRACTION",
    "RoundResults",
    "apply_group_floor",
    "canonical_tool",
    "expand_to_groups",
    "floor_status",
    "group_tree",
    "question_distribution",
    "question_means",
    "results_trend",
    "round_results",
    "survey_comments",
    "survey_trend",
]
SCALE = (1, 2, 3, 4, 5)
FREQUENCIES = ("never", "monthly", "weekly", "daily")
MAX_HOURS_SAVED = 40.0
NUMERIC = ("overall_satisfaction", "ease_of_shipping", "ai_hours_saved_per_week")
CATEGORICAL = ("ai_tool", "ai_frequency")
HOURS_EDGES = (-math.inf, 0.0, 1.0, 2.0, 5.0, 10.0, math.inf)
HOURS_LABELS = ("0 h", "up to 1 h", "1-2 h", "2-5 h", "5-10 h", "over 10 h")


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    text: str
    kind: str  # scale | hours | tool | frequency | text
    required: bool
    labels: tuple[str, ...] = ()  # scale: labels of 1..5; frequency: labels of FREQUENCIES


QUESTIONS: tuple[Question, ...] = (
    Question(
        "overall_satisfaction",
        "Overall, how satisfied are you with your work as an engineer here?",
        "scale",
        True,
        ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"),
    ),
    Question(
        "ease_of_shipping",
        "How easy is it to get your changes reviewed, merged and shipped?",
        "scale",
        True,
        ("Very hard", "Hard", "Neither easy nor hard", "Easy", "Very easy"),
    ),
    Question(
        "ai_hours_saved_per_week",
        "In a typical week, how many hours do AI coding tools save you? (0 to 40, decimals allowed)",
        "hours",
        False,
    ),
    Question("ai_tool", "Which AI coding tool do you use most?", "tool", False),
    Question(
        "ai_frequency",
        "How often do you use AI coding tools?",
        "frequency",
        False,
        ("Never", "About monthly", "Weekly", "Daily"),
    ),
    Question(
        "free_text",
        "Anything else you want to tell us? (read only by managers, never shown per team)",
        "text",
        False,
    ),
)
QUESTION = {q.key: q for q in QUESTIONS}

KNOWN_TOOLS = (
    "Claude Code",
    "GitHub Copilot",
    "Cursor",
    "aider",
    "Devin",
    "Codex",
    "Gemini",
    "Windsurf",
    "Amazon Q",
    "ChatGPT",
    "JetBrains AI",
    "Jules",
    "Factory",
)
_TOOL_ALIASES = {
    **{tool.casefold(): tool for tool in KNOWN_TOOLS},
    "claude": "Claude Code",
    "copilot": "GitHub Copilot",
    "github copilot chat": "GitHub Copilot",
    "codeium": "Windsurf",
    "gemini code assist": "Gemini",
    "openai codex": "Codex",
    "q developer": "Amazon Q",
}


def canonical_tool(text: str) -> str:
    """One spelling per tool (``copilot`` -> ``GitHub Copilot``); unknown tools keep their own name."""
    cleaned = " ".join(text.split())
    return _TOOL_ALIASES.get(cleaned.casefold(), cleaned)[:50]


# --- statistics -------------------------------------------------------------------------------------


def answered(responses: pd.DataFrame, question: str) -> pd.Series:
    """True where the response answers ``question`` (a number, or non-blank text)."""
    values = responses[question]
    if question in NUMERIC:
        return values.notna()
    return values.fillna("").astype(str).str.strip() != ""


def _answers(responses: pd.DataFrame, question: str) -> pd.DataFrame:
    """(group, answer, label) for the responses that answer ``question``, answer in display order."""
    kind = QUESTION[question].kind
    rows = responses[answered(responses, question)]
    values = rows[question]
    if kind == "scale":
        labels = QUESTION[question].labels
        answer = values.astype(int).astype(str)
        label = values.astype(int).map(lambda v: f"{v} · {labels[v - 1]}")
    elif kind == "hours":
        answer = pd.cut(values.astype(float), bins=list(HOURS_EDGES), labels=list(HOURS_LABELS)).astype(str)
        label = answer
    elif kind == "frequency":
        answer = values.astype(str).str.strip()
        label = answer.map(dict(zip(FREQUENCIES, QUESTION[question].labels, strict=True)))
    else:
        answer = values.astype(str).map(canonical_tool)
        label = answer
    return pd.DataFrame({"group": rows["group"], "answer": answer, "label": label})


def _fixed_answers(question: str) -> list[tuple[str, str]]:
    q = QUESTION[question]
    if q.kind == "scale":
        return [(str(v), f"{v} · {q.labels[v - 1]}") for v in SCALE]
    if q.kind == "hours":
        return [(label, label) for label in HOURS_LABELS]
    if q.kind == "frequency":
        return list(zip(FREQUENCIES, q.labels, strict=True))
    return []  # tools: only those named


def question_distribution(expanded: pd.DataFrame, question: str, groups: Iterable[str]) -> pd.DataFrame:
    """``group, question, answer, label, count, share`` per group (``expanded`` from
    :func:`expand_to_groups`).  Fixed answers (1..5, frequencies, hour bins) are all listed, zeros
    included, in their natural order; tools are listed by count, then name.  share = count / answers."""
    found = _answers(expanded, question)
    fixed = _fixed_answers(question)
    # One pass over the answers rather than a filter of the whole frame per group: a tree of 500 teams
    # took 3 s per round this way (and every dashboard waits for it when the cache is cold).
    totals: dict[str, int] = defaultdict(int)
    tallies: dict[str, dict[str, int]] = defaultdict(dict)
    label_of: dict[str, dict[str, str]] = defaultdict(dict)
    for group, answer, label in zip(found["group"], found["answer"], found["label"], strict=True):
        totals[group] += 1
        if pd.isna(answer):  # not an answer (groupby left it out of the counts, not of the total)
            continue
        tallies[group][answer] = tallies[group].get(answer, 0) + 1
        label_of[group][answer] = label
    out = []
    for group in groups:
        counts = tallies.get(group, {})
        if fixed:
            answers = fixed
        else:
            ordered = sorted(counts, key=lambda a: (-counts[a], str(a).casefold(), str(a)))
            answers = [(str(a), label_of[group][a]) for a in ordered]
        total = totals.get(group, 0)
        for answer, label in answers:
            n = int(counts.get(answer, 0))
            out.append((group, question, answer, label, n, n / total if total else math.nan))
    return pd.DataFrame(out, columns=["group", "question", "answer", "label", "count", "share"])


def question_means(expanded: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """``group, question, n, mean`` for the numeric questions; n = answers, mean NaN when n = 0."""
    out = []
    for question in NUMERIC:
        stats = expanded.groupby("group")[question].agg(["count", "mean"]).reindex(list(groups))
        for group, n, mean in zip(stats.index, stats["count"].fillna(0), stats["mean"], strict=True):
            out.append((group, question, int(n), float(mean) if n else math.nan))
    return pd.DataFrame(out, columns=["group", "question", "n", "mean"])


def _distinct_per_group(expanded: pd.DataFrame, column: str, groups: pd.Series) -> pd.Series:
    if not len(expanded):
        return pd.Series(0, index=groups.to_numpy(), dtype="int64")
    counts = expanded.groupby("group")[column].nunique()
    return counts.reindex(groups.to_numpy(), fill_value=0).astype("int64")


# --- results, floored -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundResults:
    """A round's results with the floor applied: nothing here belongs to a hidden group.

    ``groups``: group, parent, team_id, name, depth, hidden ("" | "small" | "subtraction"), members,
    respondents (<NA> when hidden) and response_rate (NaN when hidden or nobody was asked).
    ``means`` / ``distributions``: rows of shown groups whose answers to that question also pass the
    floor (counting those who answered it), as from :func:`question_means` / :func:`question_distribution`.
    """

    groups: pd.DataFrame
    means: pd.DataFrame
    distributions: pd.DataFrame
    min_size: int

    def shown(self, group: str) -> bool:
        row = self.groups[self.groups["group"] == group]
        return bool(len(row)) and row["hidden"].iloc[0] == ""


def round_results(
    responses: pd.DataFrame, groups: pd.DataFrame, members: pd.DataFrame, *, min_size: int
) -> RoundResults:
    """Means, distributions and response rates of one round per group, floored (module docstring)."""
    expanded = expand_to_groups(responses, groups)
    respondents = _distinct_per_group(expanded, "response_id", groups["group"])
    asked = _distinct_per_group(expand_to_groups(members, groups), "person_id", groups["group"])
    tree = groups[["group", "parent"]].assign(respondents=respondents.to_numpy())
    hidden = floor_status(tree, min_size)
    shown = (hidden == "").to_numpy()
    rate = respondents.to_numpy() / asked.replace(0, math.nan).to_numpy()
    frame = groups.assign(
        hidden=hidden.to_numpy(),
        members=asked.to_numpy(),
        respondents=pd.array(
            [int(n) if ok else pd.NA for n, ok in zip(respondents, shown, strict=True)], dtype="Int64"
        ),
        response_rate=[float(r) if ok else math.nan for r, ok in zip(rate, shown, strict=True)],
    )
    visible_groups = [g for g, ok in zip(groups["group"], shown, strict=True) if ok]
    means, distributions = [], []
    for question in (*NUMERIC, *CATEGORICAL):
        n = expanded[answered(expanded, question)].groupby("group").size()
        counts = tree.assign(n=n.reindex(tree["group"].to_numpy(), fill_value=0).to_numpy())
        passing = set(apply_group_floor(counts, min_size, count="n")["group"]) & set(visible_groups)
        keep = [g for g in visible_groups if g in passing]
        distributions.append(question_distribution(expanded, question, keep))
        if question in NUMERIC:
            found = question_means(expanded, keep)
            means.append(found[found["question"] == question])
    return RoundResults(
        groups=frame.reset_index(drop=True),
        means=pd.concat(means, ignore_index=True),
        distributions=pd.concat(distributions, ignore_index=True),
        min_size=min_size,
    )


def survey_comments(responses: pd.DataFrame, results: RoundResults) -> list[str]:
    """Free-text answers of a round, only when the whole round is shown, sorted so that their order
    says nothing about who wrote them or when; never per team."""
    if not results.shown(ROOT) or "free_text" not in responses:
        return []
    texts = responses["free_text"].fillna("").astype(str).str.strip()
    return sorted((t for t in texts if t), key=lambda t: (t.casefold(), t))


def survey_trend(responses: pd.DataFrame, *, by: str, min_size: int) -> pd.DataFrame:
    """Whole-organization means per round (``by="round"``) or per calendar month of submission
    (``by="month"``), floored: each period is its own group.

    Columns: period (round_id, or the month's first day as a naive Timestamp), hidden, respondents
    (<NA> when hidden), then ``n_<q>`` and ``mean_<q>`` per numeric question (<NA>/NaN when fewer than
    ``min_size`` answered it).  Use one partition per page: rounds and months overlap.
    """
    if by == "round":
        period = responses["round_id"]
    elif by == "month":
        months = responses["submitted_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
        period = months.dt.to_timestamp()
    else:
        raise ValueError(f"by must be 'round' or 'month', got {by!r}")
    frame = responses.assign(period=period)
    rows = []
    for key, part in frame.groupby("period", sort=True):
        respondents = int(part["response_id"].nunique())
        row: dict[str, object] = {
            "period": key,
            "hidden": "" if respondents >= min_size else SMALL,
            "respondents": respondents if respondents >= min_size else pd.NA,
        }
        for question in NUMERIC:
            n = int(part[question].notna().sum())
            ok = respondents >= min_size and n >= min_size
            row[f"n_{question}"] = n if ok else pd.NA
            row[f"mean_{question}"] = float(part[question].mean()) if ok else math.nan
        rows.append(row)
    columns = ["period", "hidden", "respondents", *(f"{p}_{q}" for q in NUMERIC for p in ("n", "mean"))]
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({c: "Int64" for c in columns if c == "respondents" or c.startswith("n_")})


def results_trend(
    reference: RoundResults, rounds: Sequence[tuple[object, RoundResults]], question: str
) -> pd.DataFrame:
    """One numeric question across rounds for the groups of ``reference``.

    Columns: group, name, depth, round (the label given), status ("shown" | "hidden" | "absent": the
    team was not in that round), n, mean.  Rounds are disjoint sets of responses, so showing each
    round's own floored value never lets one be subtracted from another.
    """
    out: list[tuple[object, ...]] = []
    for label, results in rounds:
        means = results.means[results.means["question"] == question]
        found = {
            g: (int(n), float(mean))
            for g, n, mean in zip(means["group"], means["n"], means["mean"], strict=True)
        }
        present = set(results.groups["group"])
        for group, name, depth in zip(
            reference.groups["group"], reference.groups["name"], reference.groups["depth"], strict=True
        ):
            status = "shown" if group in found else "hidden" if group in present else "absent"
            n, mean = found.get(group, (pd.NA, math.nan))
            out.append((group, name, depth, label, status, n, mean))
    columns = ["group", "name", "depth", "round", "status", "n", "mean"]
    return pd.DataFrame(out, columns=columns).astype({"n": "Int64"})
