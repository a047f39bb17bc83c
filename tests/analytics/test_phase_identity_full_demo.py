"""Phase identity (test_phase_identity.py) on the full default demo organization (10 teams, 12 months, as
``make run`` loads it): every PR's spans are the same in the PR explorer, the API (JSON and CSV) and the
snapshots.  The full demo takes tens of seconds to load, so this module is a `slow` test (make test runs
it; the developer loop checks the same on the small demo)."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from metrics.ingestion.models import PullRequest
from tests.analytics.test_phase_identity import assert_identical

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def full_demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        call_command("load_demo", verbosity=0, stdout=StringIO(), stderr=StringIO())
        try:
            yield
        finally:
            call_command("flush", interactive=False, verbosity=0)


def test_every_pr_of_the_full_demo_shows_the_same_spans_everywhere(full_demo: None) -> None:
    compared = assert_identical()
    assert compared == PullRequest.objects.count() > 5000  # the whole default demo, every PR
