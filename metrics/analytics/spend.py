"""AI tool spend per ROI group (month, tool[, team]): seats x monthly seat price, or usage cost.

Where the seats come from, first found wins for a month and tool:

1. the seat count an admin entered or imported (``AISeatCount``: what the invoice says), organization-wide;
2. the seat assignments an API reported (Copilot billing seats, ``AISeat``), which name people, so a team
   row counts its own people (and a team with none of them holds 0 seats, a known 0).

Without seats, usage cost from telemetry (``AIUsageDay.cost``) is the spend where it exists.  A tool with a
price and neither seats nor usage cost has **unknown** spend (NaN, "seats unknown"), never a silent 0; a
team row of a tool whose seats or cost are only known for the whole organization is unknown too, with its
own note.  A tool without a price spends usage cost or 0 ("no price set").
"""

from __future__ import annotations

import math

import pandas as pd

SEATS = "seats x price"
USAGE = "usage cost"
UNKNOWN = "seats unknown"
ORG_ONLY = "seats counted for the whole organization"
NO_PRICE = "no price set"


def _lookup(frame: pd.DataFrame, keys: list[str], value: str) -> dict[tuple, float]:
    if frame.empty:
        return {}
    grouped = frame.dropna(subset=keys).groupby(keys)[value].sum()
    return {k if isinstance(k, tuple) else (k,): float(v) for k, v in grouped.items()}


def _assigned(seats: pd.DataFrame, keys: list[str]) -> tuple[set[tuple], dict[tuple, float]]:
    """(month, tool) pairs with any assignment, and distinct seat holders per ``keys`` group."""
    if seats.empty:
        return set(), {}
    org = set(map(tuple, seats[["month", "tool"]].drop_duplicates().itertuples(index=False)))
    held = seats.dropna(subset=keys).groupby(keys)["person_id"].nunique()
    return org, {k if isinstance(k, tuple) else (k,): float(v) for k, v in held.items()}


def _usage(usage: pd.DataFrame, keys: list[str], *, team_level: bool) -> dict[tuple, float]:
    """Usage cost per group.  Organization totals (rows without a person) win over the sum of the per-user
    rows for the organization; a team only ever has its people's rows."""
    if usage.empty:
        return {}
    known = usage.dropna(subset=["cost"])
    per_user = known[known["per_user"]]
    if team_level:
        return _lookup(per_user, keys, "cost")
    totals = _lookup(known[~known["per_user"]], keys, "cost")
    return {**_lookup(per_user, keys, "cost"), **totals}


def spend_for(
    groups: pd.DataFrame,
    keys: list[str],
    *,
    seats: pd.DataFrame,
    declared: pd.DataFrame,
    usage: pd.DataFrame,
    prices: dict[str, float],
) -> pd.DataFrame:
    """``groups`` (the ``keys`` columns) with ``seats``, ``spend``, ``spend_note``, ``seat_cost`` and
    ``usage_cost`` added (the two parts, each NaN when unknown; ``spend`` is the rule above).

    seats: a seat assignment held in a month (month, tool, team_id, person_id); declared: entered seat
    counts (month, tool, seats); usage: telemetry cost (month, tool, team_id, per_user, cost); prices:
    tool -> monthly seat price."""
    team_level = "team_id" in keys
    counted = _lookup(declared, ["month", "tool"], "seats")
    assigned_org, assigned = _assigned(seats, keys)
    costs = _usage(usage, keys, team_level=team_level)
    out = []
    for row in groups[keys].itertuples(index=False):
        key = tuple(row)
        month, tool = row[keys.index("month")], row[keys.index("tool")]
        price = float(prices.get(tool, 0.0) or 0.0)
        if (month, tool) in counted:
            n = None if team_level else counted[(month, tool)]
        elif (month, tool) in assigned_org:
            n = assigned.get(key, 0.0)
        else:
            n = math.nan
        cost = costs.get(key)
        parts = _parts(price, n, cost)
        out.append((*_spend(price, n, cost, org_only=team_level and (month, tool) in counted), *parts))
    columns = ["seats", "spend", "spend_note", "seat_cost", "usage_cost"]
    frame = pd.DataFrame(out, columns=columns, index=groups.index)
    return pd.concat([groups[keys], frame], axis=1)


def _parts(price: float, seats: float | None, cost: float | None) -> tuple[float, float]:
    """(seat cost, usage cost) shown side by side: seats x price (NaN when the seats or the price are not
    known for the group) and the telemetry's usage/token cost (NaN without cost telemetry)."""
    known = seats is not None and not math.isnan(seats) and price > 0
    return (seats * price if known else math.nan), (math.nan if cost is None else cost)  # type: ignore[operator]


def _spend(price: float, seats: float | None, cost: float | None, *, org_only: bool) -> tuple:
    """(seats, spend, note) of one group; ``seats`` NaN = none reported, None = organization-wide only."""
    known = seats is not None and not math.isnan(seats)
    shown = seats if known else math.nan
    if price > 0 and known:
        return shown, seats * price, SEATS  # type: ignore[operator]
    if cost is not None:
        return shown, cost, USAGE
    if price <= 0:
        return shown, 0.0, NO_PRICE
    return math.nan, math.nan, ORG_ONLY if org_only else UNKNOWN


def agent_cost_per_merged_pr(usage: pd.DataFrame, merged: pd.DataFrame) -> pd.DataFrame:
    """Cost per merged agent PR, per month and agent tool, where cost telemetry exists.

    usage: telemetry cost (month, tool, per_user, cost) — organization totals win over per-user sums, as
    for spend; merged: merged agent PRs (month, tool, merged_agent_prs).  ``cost_per_merged_pr`` is the
    tool's whole usage cost over its merged agent PRs: for a tool used interactively too (Cursor, Claude
    Code) an upper bound, said in ``note``; no cost telemetry gives no row (unknown, never 0)."""
    columns = ["month", "tool", "cost", "merged_agent_prs", "cost_per_merged_pr", "note"]
    if usage.empty or merged.empty:
        return pd.DataFrame(columns=columns)
    costs = _usage(usage, ["month", "tool"], team_level=False)
    rows = []
    for month, tool, count in zip(merged["month"], merged["tool"], merged["merged_agent_prs"], strict=True):
        cost = costs.get((month, tool))
        n = int(count)
        if cost is None or n <= 0:
            continue
        note = "agent cost" if tool in AGENT_ONLY_TOOLS else "all usage cost of the tool (an upper bound)"
        rows.append((month, tool, cost, n, cost / n, note))
    return pd.DataFrame(rows, columns=columns)


# Tools whose whole cost is agent work (they have no interactive mode that writes code in an editor).
AGENT_ONLY_TOOLS = frozenset({"Devin", "Jules", "Codex", "Factory"})
