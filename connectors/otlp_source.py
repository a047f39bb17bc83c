"""The ``otlp`` source kind: exporters push to the receiver (``metrics/ingestion/otlp_receiver.py``), so a
sync has nothing to read; the connector exists so that ``sync`` and the settings page treat the source like
any other (a sync of it succeeds with no records)."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.base import Connector
from connectors.records import Record


class OtlpSourceConnector(Connector):
    kind = "otlp"

    def records(self) -> Iterator[Record]:
        return iter(())
