# ruff: noqa: RUF002 - typographic minus signs are what the report prints
"""Chat digests of a report run: the headline KPIs as Slack and Microsoft Teams incoming-webhook messages.

The numbers come from the run's ``summary``, written from the same ``Report.cards`` the e-mail and the
PDF print (``report_summary``, at render time), so the three can never disagree.  Each message has the
report's title and period, every headline KPI with its value, its change against the previous period and
the value it is compared with, a "provisional" mark where the period runs past the data (and the
"approximate" dagger), the incomplete-period warning, and a link to the full report in the archive.

Payloads, as documented by the vendors:

* Slack incoming webhook, Block Kit (https://api.slack.com/messaging/webhooks,
  https://api.slack.com/reference/block-kit/blocks): ``{"text": fallback, "blocks": [header, context,
  section with <= 10 mrkdwn fields, context, actions with a url button]}``; answered ``200 ok``; errors
  ``400 invalid_payload``, ``403 action_prohibited``, ``404 no_service``, ``410 channel_is_archived``,
  ``500 rollup_error`` (retried).
* Microsoft Teams, Workflows (Power Automate "When a Teams webhook request is received"; the current
  kind, https://learn.microsoft.com/en-us/connectors/teams/#microsoft-teams-webhook): ``{"type":
  "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl":
  null, "content": AdaptiveCard 1.4 with TextBlocks, a FactSet and an Action.OpenUrl}]}``; answered 202.
* Microsoft Teams, legacy Office 365 connector URLs (``.../IncomingWebhook/...``, retiring): the
  actionable ``MessageCard`` (``@type``, ``@context``, ``summary``, ``sections[].facts``,
  ``potentialAction`` OpenUri); answered ``200 1``.

The webhook URL is the credential: stored encrypted, shown only as ``mask`` (its host), and never written
to an error, a log line or a page (``deliver`` records the exception type and the status, redacted).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from connectors.api_urls import api_url_check
from connectors.base import ConnectorError, redact
from metrics.core import crypto
from metrics.reports.models import ChatDelivery, ReportSchedule

if TYPE_CHECKING:  # the report builder pulls in pandas, statsmodels and matplotlib: not for forms/admin
    from metrics.reports.content import Report

SLACK_FIELDS_MAX = 10  # Block Kit: at most 10 fields in a section
SLACK_HEADER_MAX = 150  # Block Kit: a header's plain text
USER_AGENT = "Sextant (self-hosted engineering metrics)"


class WebhookUrlError(ValueError):
    """A webhook URL Sextant will not post to; the message names why (never the URL's secret part)."""


def webhook_url_check(url: str, *, channel: str) -> str:
    """``url`` stripped, if it is an https URL without credentials that is not a link-local/metadata
    address (``connectors.api_urls``); plain http only to a loopback host (a local relay, the tests)."""
    url = url.strip()
    parts = urlsplit(url)
    label = {"slack": "Slack", "teams": "Teams"}.get(channel, channel)
    host = parts.hostname or ""
    if parts.scheme == "http" and not _loopback(host):
        raise WebhookUrlError(f"the {label} webhook URL must start with https:// (got http:// to {host})")
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookUrlError(f"the {label} webhook URL must be an https:// URL")
    try:
        api_url_check(url)
    except ConnectorError as exc:
        raise WebhookUrlError(f"the {label} webhook URL is refused: {redact(str(exc), [url])}") from None
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mask(url: str) -> str:
    """What pages show of a stored webhook URL: its host only."""
    host = urlsplit(url).hostname or "?"
    return f"{host} (URL hidden)"


def teams_legacy(url: str) -> bool:
    """An Office 365 connector URL (``https://xxx.webhook.office.com/webhookb2/.../IncomingWebhook/...``)."""
    return "/IncomingWebhook/" in urlsplit(url).path


# --- the summary (from the report the e-mail renders) ------------------------------------------------------


def report_summary(report: Report) -> dict[str, Any]:
    """The headline as JSON for the run: exactly the cards' texts the e-mail and PDF print."""
    provisional = set(report.extra.get("provisional") or [])  # type: ignore[call-overload]
    return {
        "title": report.title,
        "organization": report.organization,
        "scope": report.scope_label,
        "span": report.period.span,
        "previous": report.previous.short_label,
        "incomplete": str(report.extra.get("incomplete") or ""),
        "kpis": [
            {
                "key": card.key,
                "label": card.label,
                "value": card.cell.text,
                "change": card.cell.change,
                "trend": card.cell.trend,
                "previous": card.cell.previous,
                "approximate": card.cell.approximate,
                "provisional": card.key in provisional,
            }
            for card in report.cards
        ],
    }


def kpi_line(kpi: dict[str, Any], previous_label: str) -> str:
    """``31.2 h (−5% vs Sep 2026: 32.8 h, better)``, ``12.0% (provisional)``."""
    text = str(kpi["value"]) + (" †" if kpi.get("approximate") else "")
    if kpi.get("provisional"):
        return f"{text} (provisional)"
    if kpi.get("change"):
        trend = {"better": ", better", "worse": ", worse"}.get(str(kpi.get("trend")), "")
        return f"{text} ({kpi['change']} vs {previous_label}: {kpi['previous']}{trend})"
    return text


def _subtitle(summary: dict[str, Any]) -> str:
    return (
        f"{summary['organization']} · {summary['scope']} · {summary['span']}, "
        f"compared with {summary['previous']}"
    )


def _fallback(summary: dict[str, Any]) -> str:
    kpis = "; ".join(f"{k['label']}: {kpi_line(k, summary['previous'])}" for k in summary["kpis"])
    return f"{summary['title']} ({summary['span']}): {kpis}"


def _slack_escape(text: str) -> str:
    """Slack mrkdwn: &, < and > are control characters (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(summary: dict[str, Any], link: str) -> dict[str, Any]:
    fields = [
        {
            "type": "mrkdwn",
            "text": f"*{_slack_escape(k['label'])}*\n{_slack_escape(kpi_line(k, summary['previous']))}",
        }
        for k in summary["kpis"][:SLACK_FIELDS_MAX]
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": summary["title"][:SLACK_HEADER_MAX]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(_subtitle(summary))}]},
        {"type": "section", "fields": fields},
    ]
    if summary.get("incomplete"):
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _slack_escape(summary["incomplete"])}],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the full report"},
                    "url": link,
                    "action_id": "open_report",
                }
            ],
        }
    )
    return {"text": _slack_escape(_fallback(summary)), "blocks": blocks}


def teams_card(summary: dict[str, Any], link: str) -> dict[str, Any]:
    """An Adaptive Card 1.4 (the version Teams renders from Workflows webhooks)."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": summary["title"], "size": "Medium", "weight": "Bolder", "wrap": True},
        {"type": "TextBlock", "text": _subtitle(summary), "isSubtle": True, "spacing": "None", "wrap": True},
        {
            "type": "FactSet",
            "facts": [
                {"title": k["label"], "value": kpi_line(k, summary["previous"])} for k in summary["kpis"]
            ],
        },
    ]
    if summary.get("incomplete"):
        body.append({"type": "TextBlock", "text": summary["incomplete"], "color": "Warning", "wrap": True})
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Open the full report", "url": link}],
    }


def teams_payload(summary: dict[str, Any], link: str, *, legacy: bool = False) -> dict[str, Any]:
    if legacy:
        facts = [{"name": k["label"], "value": kpi_line(k, summary["previous"])} for k in summary["kpis"]]
        sections: list[dict[str, Any]] = [
            {"activityTitle": summary["title"], "activitySubtitle": _subtitle(summary), "facts": facts}
        ]
        if summary.get("incomplete"):
            sections.append({"text": summary["incomplete"]})
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": summary["title"],
            "themeColor": "1F6FEB",
            "title": summary["title"],
            "sections": sections,
            "potentialAction": [
                {
                    "@type": "OpenUri",
                    "name": "Open the full report",
                    "targets": [{"os": "default", "uri": link}],
                }
            ],
        }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": teams_card(summary, link),
            }
        ],
    }


def payload(channel: str, url: str, summary: dict[str, Any], link: str) -> dict[str, Any]:
    if channel == "slack":
        return slack_payload(summary, link)
    return teams_payload(summary, link, legacy=teams_legacy(url))


# --- posting ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """``sent``; else ``retry`` (not delivered: 429, 5xx, no connection) or ``ambiguous`` (the request may
    have arrived: a timeout waiting for the answer) or neither (refused for good: 4xx); ``text`` is safe to
    store (no URL)."""

    sent: bool
    text: str = ""
    retry: bool = False
    ambiguous: bool = False
    retry_after: float | None = None


def post(url: str, body: dict[str, Any], *, timeout: float) -> Outcome:
    """POST ``body`` as JSON to the webhook; no redirects (a redirect would carry the message elsewhere)."""
    try:
        response = requests.post(
            url,
            json=body,
            timeout=timeout,
            allow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
    except requests.ReadTimeout:
        return Outcome(
            False, "no answer within the timeout (the message may have been posted)", ambiguous=True
        )
    except requests.RequestException as exc:  # refused, reset, DNS, connect timeout: nothing was accepted
        return Outcome(False, f"connection failed ({type(exc).__name__})", retry=True)
    status = response.status_code
    answer = redact(response.text[:200].strip(), [url])
    if 200 <= status < 300:
        return Outcome(True, f"{status} {answer}".strip())
    text = f"answered {status} {answer}".strip()
    if status == 429 or status >= 500:
        retry_after = _seconds(response.headers.get("Retry-After"))
        return Outcome(False, text, retry=True, retry_after=retry_after)
    return Outcome(False, text)


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


# --- a schedule's webhook URLs (encrypted; forms, the archive and the sender use these) ---------------

CHAT_CHANNELS = (ChatDelivery.Channel.SLACK, ChatDelivery.Channel.TEAMS)


def schedule_webhook(schedule: ReportSchedule, channel: str) -> str:
    """The decrypted webhook URL of ``channel`` ("" when none); only for posting, never for display."""
    return crypto.decrypt(
        getattr(schedule, f"{channel}_webhook_encrypted"),
        what=f"{channel} webhook of report {schedule.name!r}",
    )


def schedule_webhook_set(schedule: ReportSchedule, channel: str, url: str) -> None:
    """Store (or with "" remove) a webhook URL, checked and encrypted; WebhookUrlError names a bad one."""
    clean = webhook_url_check(url, channel=channel) if url else ""
    setattr(schedule, f"{channel}_webhook_encrypted", crypto.encrypt(clean))


def schedule_channels(schedule: ReportSchedule) -> dict[str, str]:
    """Configured channels -> what pages may show of their URL (the host)."""
    shown = {}
    for channel in CHAT_CHANNELS:
        if getattr(schedule, f"{channel}_webhook_encrypted"):
            try:
                shown[str(channel)] = mask(schedule_webhook(schedule, channel))
            except crypto.SecretDecryptionError:
                shown[str(channel)] = "stored, but not readable with the current keys"
    return shown
