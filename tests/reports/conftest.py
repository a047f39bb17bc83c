"""Fixtures of the report tests: the demo organization (loaded once per module), a schedule, survey
rounds, a real SMTP server (aiosmtpd) on 127.0.0.1, and PDF text extraction (pypdf, no poppler needed)."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from metrics.core.models import Team
from metrics.ingestion.models import SurveyResponse, SurveyRound
from metrics.reports.models import ReportSchedule


@pytest.fixture(scope="module")
def demo(small_demo: None) -> None:
    """The demo organization (``load_demo --small``: the same generator with 4 teams and 6 months, to keep
    the suite fast; bench/report.py renders the full one), committed once per module, then flushed."""


@pytest.fixture
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def make_schedule(
    *,
    name: str = "Monthly brief",
    period: str = "monthly",
    teams: list[Team] | None = None,
    audience: str = "cfo@example.com, cto@example.com",
    **fields: Any,
) -> ReportSchedule:
    schedule = ReportSchedule.objects.create(name=name, period=period, audience=audience, **fields)
    schedule.teams.set(teams or [])
    return schedule


def make_round(name: str, opened: dt.datetime, answers: dict[Team, list[int]]) -> SurveyRound:
    """A closed round with ``answers``: team -> overall satisfaction of each respondent."""
    survey_round = SurveyRound.objects.create(
        name=name, opened_at=opened, closes_at=opened + dt.timedelta(days=7)
    )
    survey_round.teams.set(list(answers))
    rows = [
        SurveyResponse(
            survey_round=survey_round,
            team=team,
            submitted_at=opened + dt.timedelta(days=1),
            overall_satisfaction=value,
            ease_of_shipping=3,
            source="csv",
            external_id=f"{name}:{team.pk}:{i}",
        )
        for team, values in answers.items()
        for i, value in enumerate(values)
    ]
    SurveyResponse.objects.bulk_create(rows)
    return survey_round


def pdf_text(pdf: bytes | Path, tmp_path: Path) -> str:
    path = pdf if isinstance(pdf, Path) else tmp_path / "report.pdf"
    if not isinstance(pdf, Path):
        path.write_bytes(pdf)
    # pypdf's layout mode keeps table cells side by side, like poppler's ``pdftotext -layout``, without
    # needing poppler on the machine (issue 22: a fresh machine has none).
    reader = PdfReader(path)
    return "\n".join(page.extract_text(extraction_mode="layout") for page in reader.pages)


class Mailbox:
    """aiosmtpd handler: keeps what it accepts; ``fail_next`` answers the next DATA commands with
    ``fail_reply`` (a temporary 451 by default)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.fail_next = 0
        self.fail_reply = "451 4.3.0 Mailbox temporarily unavailable"
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_next > 0:
            self.fail_next -= 1
            self.refused += 1
            return self.fail_reply
        self.messages.append(envelope.content)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1: (its mailbox, the port)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def smtp(settings: Any, smtp_server: tuple[Mailbox, int]) -> Mailbox:
    """Django's SMTP backend pointed at the real server of ``smtp_server``; its mailbox."""
    mailbox, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return mailbox
