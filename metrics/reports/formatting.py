# ruff: noqa: RUF001, RUF002 - typographic dashes, minus and multiplication signs are intended
"""Number formats of the executive report: one unit per quantity, real minus signs, thousands
separators, no false precision.  Pure Python."""

from __future__ import annotations

import math

MINUS = "\u2212"
DASH = "—"
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def signed(text: str, value: float) -> str:
    """Prefix ``+`` or a true minus sign (``text`` is the formatted absolute value)."""
    if round(value, 10) == 0:
        return text
    return ("+" if value > 0 else MINUS) + text


def hours(value: float | None) -> str:
    if value is None or _missing(value):
        return DASH
    return f"{value:,.1f} h"


def count(value: float | None) -> str:
    return DASH if _missing(value) else f"{value:,.0f}"


def ratio(value: float | None) -> str:
    """Merged PRs per engineer: two significant decimals."""
    return DASH if _missing(value) else f"{value:,.2f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A share (0..1) as a percentage."""
    if value is None or _missing(value):
        return DASH
    return f"{value * 100:.{digits}f}%"


def score(value: float | None) -> str:
    """A survey mean on the 1-5 scale."""
    return DASH if _missing(value) else f"{value:.2f}"


def money(value: float | None, currency: str = "USD") -> str:
    if value is None or _missing(value):
        return DASH
    sign = CURRENCY_SIGNS.get(currency)
    amount = f"{abs(value):,.0f}"
    text = f"{sign}{amount}" if sign else f"{amount} {currency}"
    return (MINUS + text) if round(value) < 0 else text


def money_range(low: float | None, high: float | None, currency: str = "USD") -> str:
    if _missing(low) or _missing(high):
        return DASH
    return f"{money(low, currency)} to {money(high, currency)}"


def hours_range(low: float | None, high: float | None) -> str:
    if low is None or high is None or _missing(low) or _missing(high):
        return DASH
    return f"{low:,.0f}–{high:,.0f} h"


def relative(value: float) -> str:
    """A relative change (fraction) as a signed percentage: ``+12.3%``, ``−4.0%``."""
    return signed(f"{abs(value) * 100:.1f}%", value)


def points(value: float) -> str:
    """A change of a share (0..1 scale) in percentage points: ``+1.2 pp``."""
    return signed(f"{abs(value) * 100:.1f} pp", value)


def difference(value: float) -> str:
    """A change of a survey mean: ``+0.20``."""
    return signed(f"{abs(value):.2f}", value)


def effect_percent(value: float | None) -> str:
    """An effect estimate already in percent (e.g. ``-13.2``)."""
    if value is None or _missing(value):
        return DASH
    return signed(f"{abs(value):.0f}%", value)
