"""Issue 15, finding 1: far dates in API filters are answered (a 400 naming the parameter, or no rows),
never a 500.  This held before the issue's fixes (DRF fields catch the overflow); it guards the pages'
fix from regressing here."""

from __future__ import annotations

import pytest

from tests.api.conftest import Org, TokenClient

EXTREMES = ("9999-12-31", "0001-01-01", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00")
# One endpoint of each filter set: timestamps (PRs, deployments, sync runs), days (metrics, ROI).
ENDPOINTS = ("pull-requests", "deployments", "sync-runs", "metrics", "ai-roi")


@pytest.mark.parametrize("value", EXTREMES)
@pytest.mark.parametrize("name", ["since", "until", "updated_since"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_far_dates_never_500(
    org: Org, token_client: TokenClient, endpoint: str, name: str, value: str
) -> None:
    response = token_client("admin").get(f"/api/v1/{endpoint}/", {name: value})
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert name in response.content.decode()
