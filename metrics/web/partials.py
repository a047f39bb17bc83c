"""The hot table partials (overview rows, PR rows, people, filter options), rendered with Jinja2.

The pages themselves are Django templates; only the loops that print hundreds or thousands of cells are
Jinja2 macros under ``templates/dashboards/*.jinja``: Django's engine took ~190 ms for the overview's 500
rows on this machine, Jinja2 (compiled to Python once per process) a fraction of that.  Every
``{{ value }}`` is escaped as Django escapes it (``_escape``), so text a user controls (team, PR, author
names) is never printed raw, and the pages print what they printed before.  A macro returns ``Markup``,
which Django templates print as is (it has ``__html__``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from metrics.web.templatetags import sextant


def _escape(value: Any) -> Any:
    """Django's escaping (``&quot;``, ``&#x27;``: the same text as the rest of the page) of a plain
    string, done here in a few C calls (``conditional_escape`` cost 60 % of a 500-row table); markup
    (``SafeString``, ``Markup``) and numbers pass on to autoescape as they are."""
    if type(value) is str:
        return Markup(  # noqa: S704 - the value is escaped right here
            value.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("'", "&#x27;")
        )
    return value


ENV = Environment(
    loader=FileSystemLoader(str(settings.BASE_DIR / "templates")),
    autoescape=True,
    finalize=_escape,
    undefined=StrictUndefined,  # a misspelt name is an error in tests, not an empty cell
    auto_reload=False,  # compiled once per process (templates change only with a deploy)
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals["metric"] = sextant.metric  # the metric name with its definition as a tooltip


@cache
def macro(template: str, name: str) -> Any:
    """A macro of a partial (``dashboards/_overview.jinja``, ``rows``), compiled once."""
    return getattr(ENV.get_template(template).module, name)


def options(choices: list[tuple[str, str]], selected: str | None) -> Any:
    """``<option>`` tags of (value, text) pairs, the one whose value is ``selected`` selected."""
    return macro("dashboards/_options.jinja", "options")(choices, selected)


def tree_options(teams: list[tuple[str, int, str]], selected: str | None) -> Any:
    """A team filter's options from (slug, depth, name) in tree order, indented by depth."""
    return macro("dashboards/_options.jinja", "tree")(teams, selected)
