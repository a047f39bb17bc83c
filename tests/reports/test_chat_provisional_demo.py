"""Issue 21 on the demo (its data ends on 23 November 2026): November's digest marks its KPIs
provisional and compares none of them, October's compares them, and both carry the e-mail's numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core import mail

from metrics.reports.chat_delivery import chat_delivery_execute
from metrics.reports.models import ChatDelivery
from metrics.reports.periods import period_containing
from metrics.reports.services import report_run_execute, report_run_for
from tests.fakes.chat_webhooks import FakeSlackWebhook
from tests.reports.conftest import make_schedule
from tests.reports.test_chat_delivery import email_headline, with_webhooks

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack(settings: Any, tmp_path: Path) -> Iterator[FakeSlackWebhook]:
    settings.SEXTANT_ENCRYPTION_KEYS = Fernet.generate_key().decode()
    settings.VAR_DIR = tmp_path / "var"
    with FakeSlackWebhook() as receiver:
        yield receiver


def digest(slack: FakeSlackWebhook, month: dt.date, name: str) -> tuple[dict[str, str], dict[str, str], str]:
    schedule = with_webhooks(make_schedule(name=name), slack.url)
    run, _ = report_run_for(schedule=schedule, period=period_containing("monthly", month))
    assert report_run_execute(run_id=run.pk) == "sent"
    assert chat_delivery_execute(delivery_id=ChatDelivery.objects.get(run=run).pk) == "sent"
    blocks = slack.messages[-1]["blocks"]
    fields = {f["text"].split("\n")[0].strip("*"): f["text"].split("\n")[1] for f in blocks[2]["fields"]}
    notes = " ".join(e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])
    return fields, email_headline(mail.outbox[-1]), notes


def test_november_is_provisional_in_the_digest_and_october_is_compared(
    demo: None, slack: FakeSlackWebhook
) -> None:
    november, november_mail, november_notes = digest(slack, dt.date(2026, 11, 1), "November")
    october, october_mail, october_notes = digest(slack, dt.date(2026, 10, 1), "October")
    assert len(slack.messages) == 2
    provisional = {label for label, text in november.items() if text.endswith("(provisional)")}
    assert {"Cycle time (median)", "Merged PRs", "Revert rate", "AI adoption"} <= provisional
    assert all(" vs " not in november[label] for label in provisional)
    assert "This period is incomplete: the data runs through" in november_notes
    assert not any(text.endswith("(provisional)") for text in october.values())
    assert sum(" vs Sep 2026: " in text for text in october.values()) >= 4
    assert "incomplete" not in october_notes
    for fields, mailed in ((november, november_mail), (october, october_mail)):
        assert set(fields) == set(mailed)
        for label, text in fields.items():
            assert text.split(" (")[0] == mailed[label].split(" (")[0], label
