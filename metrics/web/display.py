"""How numbers, metric names, periods and ages read on the pages."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from html import escape
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.safestring import SafeString

from metrics.analytics import catalog


def label(metric: str) -> str:
    """The catalog's label (``cycle_time_p50`` -> ``Cycle time p50``)."""
    return catalog.label(metric)


def definition(metric: str) -> str:
    found = catalog.SHOWN.get(metric)
    return found.definition if found else ""


def hours(value: float, unit: str = "") -> str:
    """Hours, or days beyond two days; ``unit`` ("h" or "d") fixes it, so a column reads in one unit."""
    unit = unit or hours_unit([value])
    return f"{value:.1f} h" if unit == "h" else f"{value / 24:.1f} d"


def hours_unit(values: Iterable[float | None]) -> str:
    """The unit of a column of hours: days when its largest value is two days or more."""
    known = [v for v in values if v is not None and not math.isnan(v)]
    return "d" if known and max(known) >= 48 else "h"


def format_value(metric: str, value: float | None) -> str:
    """Human units: hours (days beyond two days), percentages for shares, whole counts."""
    if value is None or math.isnan(value):
        return "—"
    unit = catalog.unit(metric)
    if unit == "hours":
        return hours(value)
    if unit == "share":
        return f"{value:.1%}"
    if unit in ("count", "lines"):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def period_label(period: str, start: dt.date) -> str:
    return f"week of {start:%d %b %Y}" if period == "week" else f"{start:%B %Y}"


def iso_date(day: dt.date) -> str:
    """``2026-05-01``: what the templates' ``date:"Y-m-d"`` prints, without the template machinery."""
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def period_end(period: str, start: dt.date) -> dt.date:
    """The last day of the week or month that starts on ``start``."""
    if period == "week":
        return start + dt.timedelta(days=6)
    following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def ago(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``12 min ago``, ``3 h ago``, ``5 days ago``: how old the data is, at a glance."""
    if moment is None:
        return ""
    seconds = max(0.0, ((now or timezone.now()) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def chart_html(spec: dict[str, Any], div_id: str, click_url: str = "", period: str = "") -> SafeString:
    """What the ``{% chart %}`` tag prints (a placeholder and the spec as ``json_script``), built without
    ``str.translate`` with a mapping, which took longer than encoding the JSON (a dashboard's charts hold
    tens of kilobytes of it)."""
    height = int(spec.get("layout", {}).get("height", 300))
    data = json.dumps(spec, cls=DjangoJSONEncoder)
    data = data.replace("&", "\\u0026").replace("<", "\\u003C").replace(">", "\\u003E")
    name, url, when = escape(str(div_id)), escape(str(click_url)), escape(str(period))
    return SafeString(
        f'<div class="chart" id="{name}" data-chart="{name}-spec" data-click-url="{url}" '
        f'data-period="{when}" style="min-height: {height}px"></div>'
        f'<script id="{name}-spec" type="application/json">{data}</script>'
    )
