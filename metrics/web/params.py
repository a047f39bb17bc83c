"""Query parameters of the pages: parsed once, and a bad one is a 400 page naming it (never a 500)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from metrics.core.models import Team


class ParamError(ValueError):
    """A query parameter with a value the page cannot use; the message names the parameter."""


# Dates a page accepts: nothing is stored before 1970 (connectors/timebounds.py), and far-future days
# (9999-12-31) overflow the day arithmetic of "up to and including that day".  Later than today is
# fine: a filter may look ahead.
EARLIEST_DAY = dt.date(1970, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)


def choice(query: QueryDict, name: str, choices: Sequence[str], default: str) -> str:
    value = query.get(name, "") or default
    if value not in choices:
        raise ParamError(f"Invalid {name} {value!r}: use one of {', '.join(choices)}.")
    return value


def date_value(query: QueryDict, name: str) -> dt.date | None:
    value = query.get(name, "")
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ParamError(f"Invalid {name} {value!r}: use a date like 2026-05-01.") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ParamError(f"Invalid {name} {value!r}: use a date from {EARLIEST_DAY} to {LATEST_DAY}.")
    return day


def int_value(query: QueryDict, name: str, *, default: int, low: int, high: int | None = None) -> int:
    value = query.get(name, "")
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ParamError(f"Invalid {name} {value!r}: use a whole number.") from None
    if number < low or (high is not None and number > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ParamError(f"Invalid {name} {value!r}: use a number {bound}.")
    return number


def team_value(query: QueryDict, name: str = "team") -> Team | None:
    slug = query.get(name, "")
    if not slug:
        return None
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise ParamError(f"Invalid {name} {slug!r}: no team has this slug.")
    return team


def yes_no(query: QueryDict, name: str) -> bool | None:
    value = query.get(name, "")
    if not value:
        return None
    if value not in ("yes", "no"):
        raise ParamError(f"Invalid {name} {value!r}: use yes or no.")
    return value == "yes"


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "dashboards/error.html", {"title": "Bad request", "message": message}, status=400)


def param_errors_are_400(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A ParamError raised by the view becomes a 400 page with its message."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ParamError as exc:
            return bad_request(request, str(exc))

    return wrapped
