"""Template helpers shared by every page: data freshness, metric names with their definitions."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, json_script

from metrics.web import display, queries

register = template.Library()


@register.inclusion_tag("web/_freshness.html")
def freshness() -> dict[str, Any]:
    """The latest finished sync, the latest metric computation ("synced 12 min ago") and the latest AI
    impact computation; ``sextant.js`` refreshes them from ``web:freshness`` without a reload."""
    return queries.freshness_status()


@register.simple_tag
def metric(name: str, text: str = "") -> str:
    """A metric's name with its definition as a tooltip (hover, or tap/focus on a phone)."""
    return tip(text or display.label(name), display.definition(name), name)


@register.simple_tag
def tip(text: str, explanation: str, metric_name: str = "") -> str:
    if not explanation:
        return format_html("{}", text)
    return format_html(
        '<span class="tip" tabindex="0" data-metric="{}" title="{}">{}'
        '<span class="tip-body" role="tooltip">{}</span></span>',
        metric_name,
        explanation,
        text,
        explanation,
    )


@register.filter
def metric_value(value: float | None, name: str) -> str:
    return display.format_value(name, value)


@register.simple_tag
def chart(spec: dict[str, Any], div_id: str, click_url: str = "", period: str = "") -> str:
    """A chart's placeholder and its JSON spec; static/web/sextant.js draws it with plotly.js.

    ``click_url``: clicking a point opens it with ``merged_from``/``merged_to`` of that ``period``.
    """
    height = int(spec.get("layout", {}).get("height", 300))
    return format_html(
        '<div class="chart" id="{}" data-chart="{}-spec" data-click-url="{}" data-period="{}" '
        'style="min-height: {}px"></div>{}',
        div_id,
        div_id,
        click_url,
        period,
        height,
        json_script(spec, f"{div_id}-spec"),
    )


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def money(value: float | None) -> str:
    """Whole currency units with thousands separators; — when unknown."""
    return "—" if value is None else f"{value:,.0f}"
