"""The OTLP receiver's series (``TelemetrySeries``): stored once per data source, their points refer to them;
one classified under other known names is classified again; a source deleted and made again starts afresh
(the ids a process remembers are the old source's).  Fed over real HTTP (Django's live server)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors import otlp
from metrics.core.models import DataSource
from metrics.ingestion import otlp_series
from metrics.ingestion.models import AIUsageDay, TelemetryPoint, TelemetrySeries
from metrics.ingestion.sync_sources import source_create
from tests.ingestion.test_otlp_receiver import TOKEN, _json_metrics, _post

pytestmark = pytest.mark.django_db(transaction=True)
ANN = {"user.email": "ann@example.com", "type": "added"}
DAY = datetime(2026, 11, 3, tzinfo=UTC)


@pytest.fixture
def base(live_server: Any) -> str:
    source_create(kind="otlp", name="tools", options={}, secret=TOKEN)
    return f"{live_server.url}/otlp/tools"


def _lines(base: str, value: int, hour: int) -> None:
    moment = int(DAY.replace(hour=hour).timestamp() * 1e9)
    body = _json_metrics(name="claude_code.lines_of_code.count", value=value, attributes=ANN, time_ns=moment)
    assert _post(base, "metrics", body).status_code == 200


def _lines_added() -> int | None:
    return AIUsageDay.objects.get(tool="Claude Code", user_key="email:ann@example.com").lines_added


def test_a_series_is_stored_once_and_its_points_refer_to_it(base: str) -> None:
    _lines(base, 5, hour=9)
    _lines(base, 7, hour=10)
    series = TelemetrySeries.objects.get()
    assert (series.name, series.tool, series.user_key, series.usage_field) == (
        "claude_code.lines_of_code.count",
        "Claude Code",
        "email:ann@example.com",
        "lines_added",
    )
    assert series.attributes == {"service.name": "gemini-cli", **ANN} and series.known == otlp.KNOWN_VERSION
    assert sorted(TelemetryPoint.objects.filter(series=series).values_list("value", flat=True)) == [5.0, 7.0]
    assert _lines_added() == 12


def test_a_series_classified_by_other_known_names_is_classified_again(base: str) -> None:
    _lines(base, 5, hour=9)
    # As a series copied by the migration (or stored by an older version) that knew nothing of the name.
    TelemetrySeries.objects.update(tool="", usage_field="", known="")
    otlp_series._REMEMBERED.clear()  # a new process (the upgraded one) remembers no series
    _lines(base, 7, hour=10)
    series = TelemetrySeries.objects.get()
    assert (series.tool, series.usage_field) == ("Claude Code", "lines_added")
    assert series.known == otlp.KNOWN_VERSION
    assert _lines_added() == 12  # both points, the one stored before the series was classified again too


def test_a_source_deleted_and_made_again_starts_afresh(base: str) -> None:
    _lines(base, 5, hour=9)
    DataSource.objects.get(name="tools").delete()
    assert not TelemetrySeries.objects.exists() and not TelemetryPoint.objects.exists()
    source_create(kind="otlp", name="tools", options={}, secret=TOKEN)
    _lines(base, 5, hour=9)  # the same request again: stored again, under the new source's own series
    assert TelemetrySeries.objects.get().data_source.name == "tools"
    assert TelemetryPoint.objects.count() == 1 and _lines_added() == 5


def test_series_keys_remembered_are_the_keys_computed() -> None:
    """A series key is remembered for string attributes only: 1, 1.0 and True are one key of a cache but
    three texts, so three series."""
    strings = {"user.email": "ann@example.com", "type": "added"}
    assert otlp._series("metric", "m", strings) == otlp._series_text("metric", "m", strings)
    assert otlp._series("metric", "m", dict(reversed(strings.items()))) == otlp._series(
        "metric", "m", strings
    )
    keys = [otlp._series("metric", "m", {"n": value}) for value in (1, 1.0, True, 1, 1.0, True)]
    assert len(set(keys)) == 3 and keys[:3] == keys[3:]
    assert keys == [otlp._series_text("metric", "m", {"n": value}) for value in (1, 1.0, True, 1, 1.0, True)]


def test_an_export_with_usage_asks_for_the_models_once_per_interval(
    base: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a broker, an export that rolled up usage days asks for the organization-wide models (a
    models-only PendingChange, served after the worker's debounce), at most once per interval per process;
    an export of unknown names only, or one in embedded mode, asks nothing (no models inline)."""
    from metrics.ingestion import otlp_receiver, recompute
    from metrics.ingestion.changes import ChangeScope
    from metrics.ingestion.models import PendingChange

    settings.CELERY_TASK_ALWAYS_EAGER = False  # the live server's thread reads the same settings
    sent: list[str] = []  # a broker that records what is sent (tests/ingestion/test_incremental_requests.py)
    monkeypatch.setattr(recompute.current_app, "send_task", lambda name, **kw: sent.append(name))
    monkeypatch.setitem(otlp_receiver._models_asked, "at", float("-inf"))
    unknown = _json_metrics(name="acme.widgets", value=3, attributes={"user.email": "ann@example.com"})
    assert _post(base, "metrics", unknown).status_code == 200
    assert not PendingChange.objects.exists()  # nothing the models read changed
    _lines(base, 10, hour=9)
    _lines(base, 5, hour=10)  # within the interval: no second request
    asked = list(PendingChange.objects.all())
    assert len(asked) == 1 and ChangeScope.from_json(asked[0].scope) == ChangeScope(models=True)
    assert "OTLP export to tools" in asked[0].reason and sent == [recompute.SNAPSHOTS_TASK]
    monkeypatch.setitem(otlp_receiver._models_asked, "at", float("-inf"))  # the interval has passed
    _lines(base, 1, hour=11)
    assert PendingChange.objects.count() == 2
    settings.CELERY_TASK_ALWAYS_EAGER = True  # embedded: left to the next recompute
    monkeypatch.setitem(otlp_receiver._models_asked, "at", float("-inf"))
    _lines(base, 1, hour=12)
    assert PendingChange.objects.count() == 2 and len(sent) == 2 and _lines_added() == 17
