"""Sextant: engineering metrics and AI ROI, self-hosted."""

from __future__ import annotations

from metrics.celery import app as celery_app

__all__ = ["celery_app"]
