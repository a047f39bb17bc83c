"""Metric names and their definitions: the catalog's (``metrics.analytics.catalog``), kept under this
name for the callers that read them here."""

from __future__ import annotations

from metrics.analytics.catalog import DEFINITION_VERSION, DEFINITIONS

__all__ = ["DEFINITIONS", "DEFINITION_VERSION"]
