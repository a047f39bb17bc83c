"""A report as HTML (for the PDF and for the e-mail), plain text, a PDF (WeasyPrint) and an e-mail.

The PDF's charts are SVG ``data:`` URIs; the e-mail's are PNG parts of a ``multipart/related`` body
referenced by ``cid:``, because mail clients do not show SVG or ``data:`` images.  Nothing is fetched
from the network at render or view time: WeasyPrint's fetcher refuses every URL but ``data:``.
"""

from __future__ import annotations

import base64
from email.mime.image import MIMEImage
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart
from django.template.loader import render_to_string

from metrics.reports.content import Report

PDF_MIMETYPE = "application/pdf"


def _chart_sources(report: Report, mode: str) -> list[dict[str, str]]:
    out = []
    for i, chart in enumerate(report.charts):
        if mode == "pdf":
            src = "data:image/svg+xml;base64," + base64.b64encode(chart.svg.encode()).decode()
        else:
            src = f"cid:chart-{i}@sextant"
        out.append({"src": src, "alt": chart.alt, "title": chart.title})
    return out


def _context(report: Report, mode: str) -> dict[str, Any]:
    charts = _chart_sources(report, mode)
    trend_count = len(report.charts) - len(report.roi.charts)
    return {
        "report": report,
        "mode": mode,
        "trend_charts": charts[:trend_count],
        "chart_rows": [charts[i : i + 2] for i in range(0, trend_count, 2)],
        "roi_charts": charts[trend_count:],
    }


def report_html(report: Report, *, mode: str) -> str:
    """``mode`` is ``pdf`` (self-contained: also what the archive shows) or ``email`` (cid: images)."""
    if mode not in {"pdf", "email"}:
        raise ValueError(f"mode must be 'pdf' or 'email', got {mode!r}")
    return render_to_string("reports/report.html", _context(report, mode))


def report_text(report: Report) -> str:
    return render_to_string("reports/report.txt", {"report": report})


def report_pdf(html: str) -> bytes:
    from weasyprint import HTML  # heavy import (pango, fonts): only where a PDF is made
    from weasyprint.urls import URLFetcher

    # Only data: URLs (the embedded charts); anything else stops the render instead of a silent gap.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


class RelatedEmail(EmailMultiAlternatives):
    """``multipart/mixed`` [ ``multipart/alternative`` [ text/plain, ``multipart/related`` [ text/html,
    image/png... ] ], application/pdf ]: the HTML's inline images travel beside it, the PDF is attached."""

    def __init__(
        self, *args: Any, inline_images: list[tuple[str, bytes]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.inline_images = inline_images or []

    def _create_alternatives(self, msg: Any) -> Any:
        encoding = self.encoding or settings.DEFAULT_CHARSET
        if not self.alternatives:
            return msg
        alternative = SafeMIMEMultipart(_subtype="alternative", encoding=encoding)
        if self.body:
            alternative.attach(msg)
        for content, mimetype in self.alternatives:
            part = self._create_mime_attachment(content, mimetype)
            if mimetype == "text/html" and self.inline_images:
                related = SafeMIMEMultipart(_subtype="related", encoding=encoding)
                related.attach(part)
                for content_id, png in self.inline_images:
                    image = MIMEImage(png, _subtype="png")
                    image.add_header("Content-ID", f"<{content_id}>")
                    image.add_header(
                        "Content-Disposition", "inline", filename=f"{content_id.split('@')[0]}.png"
                    )
                    related.attach(image)
                part = related
            alternative.attach(part)
        return alternative


def report_email(
    report: Report,
    *,
    subject: str,
    recipients: list[str],
    pdf: bytes,
    filename: str,
    from_email: str | None = None,
) -> RelatedEmail:
    images = [(f"chart-{i}@sextant", chart.png) for i, chart in enumerate(report.charts)]
    message = RelatedEmail(
        subject=subject,
        body=report_text(report),
        to=recipients,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        inline_images=images,
    )
    message.attach_alternative(report_html(report, mode="email"), "text/html")
    message.attach(filename, pdf, PDF_MIMETYPE)
    return message
