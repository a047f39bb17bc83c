"""Slack and Microsoft Teams incoming webhooks on 127.0.0.1 that check the documented payload shapes.

Built on ``tests.fakes.server.FakeApiServer`` (real HTTP, faults such as ``fault("POST", ..., status=500)``).
Each receiver keeps the messages it accepted (``messages``) and refuses a malformed one as the vendor does.

* Slack (https://api.slack.com/messaging/webhooks; Block Kit https://api.slack.com/reference/block-kit):
  ``POST /services/T…/B…/<secret>``, JSON with ``text`` and/or ``blocks``; accepted: ``200 ok``
  (text/plain); a malformed payload ``400 invalid_payload``; an unknown URL ``404 no_service``.  Checked:
  block types, a header's plain text (<= 150), a section's text or fields (<= 10, each <= 2000), context
  elements (<= 10), buttons (plain-text label <= 75, url <= 3000), and no unescaped ``<``/``>`` in mrkdwn
  outside ``<url|label>`` links.
* Teams Workflows (Power Automate "When a Teams webhook request is received";
  https://learn.microsoft.com/en-us/connectors/teams/#microsoft-teams-webhook and the Adaptive Card schema
  https://adaptivecards.io/explorer/): ``POST /workflows/<id>/triggers/manual/paths/invoke?api-version=…
  &sp=…&sv=1.0&sig=<sig>``, ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": {"type": "AdaptiveCard",
  "version": …, "body": [...], "actions": [...]}}]}``; accepted ``202`` with no body; a wrong ``sig`` is
  ``401``, a malformed body ``400`` with ``{"error": {"code": "InvalidRequestContent", ...}}``.
* Teams legacy connector (Office 365 "Incoming Webhook", retiring; the actionable MessageCard reference
  https://learn.microsoft.com/en-us/outlook/actionable-messages/message-card-reference):
  ``POST /webhookb2/<guid>@<guid>/IncomingWebhook/<id>/<guid>``, ``{"@type": "MessageCard", "@context":
  "https://schema.org/extensions", "summary" or "text", "sections": [{"facts": [{"name", "value"}]}],
  "potentialAction": [{"@type": "OpenUri", "targets": [{"os", "uri"}]}]}``; accepted ``200 1``; without
  summary and text ``400 Summary or Text is required.``
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse

SLACK_BLOCKS = {"header", "section", "context", "actions", "divider", "image", "rich_text"}
CARD_ELEMENTS = {"TextBlock", "FactSet", "ColumnSet", "Container", "Image", "RichTextBlock"}
LINK = re.compile(r"<[^<>|]+(\|[^<>]*)?>")


class _Receiver:
    def __init__(self) -> None:
        self.server = FakeApiServer(auto_etag=False)
        self.messages: list[dict[str, Any]] = []
        self.refused: list[str] = []

    def __enter__(self) -> _Receiver:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def _json(self, request: FakeRequest) -> Any:
        if not (request.header("content-type") or "").startswith("application/json"):
            raise ValueError("the Content-Type is not application/json")
        return request.json()


class FakeSlackWebhook(_Receiver):
    def __init__(self) -> None:
        super().__init__()
        self.secret = secrets.token_urlsafe(18)
        self.server.route("POST", r"/services/(?P<team>T\w+)/(?P<bot>B\w+)/(?P<secret>[\w-]+)")(self._post)

    @property
    def url(self) -> str:
        return f"{self.server.url}/services/T0SEXTANT/B0REPORTS/{self.secret}"

    def _post(self, request: FakeRequest, team: str, bot: str, secret: str) -> FakeResponse:
        if secret != self.secret:
            return FakeResponse(404, "no_service", {"Content-Type": "text/plain"})
        try:
            body = self._json(request)
            slack_check(body)
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            self.refused.append(str(exc))
            return FakeResponse(400, "invalid_payload", {"Content-Type": "text/plain"})
        self.messages.append(body)
        return FakeResponse(200, "ok", {"Content-Type": "text/plain"})


def _mrkdwn(text: str) -> None:
    bare = LINK.sub("", text)
    assert "<" not in bare and ">" not in bare, f"unescaped < or > in mrkdwn: {text[:60]!r}"


def _text_object(obj: dict[str, Any], *, limit: int, plain: bool = False) -> None:
    assert obj["type"] in (("plain_text",) if plain else ("plain_text", "mrkdwn")), obj["type"]
    assert isinstance(obj["text"], str) and 0 < len(obj["text"]) <= limit, "text missing or too long"
    if obj["type"] == "mrkdwn":
        _mrkdwn(obj["text"])


def slack_check(body: Any) -> None:
    """Raise unless ``body`` is a message Slack's incoming webhooks accept."""
    assert isinstance(body, dict), "not a JSON object"
    blocks = body.get("blocks")
    assert isinstance(body.get("text"), str) or blocks, "neither text nor blocks"
    assert blocks is None or (isinstance(blocks, list) and len(blocks) <= 50), "blocks must be a list <= 50"
    for block in blocks or []:
        kind = block["type"]
        assert kind in SLACK_BLOCKS, f"unknown block type {kind}"
        if kind == "header":
            _text_object(block["text"], limit=150, plain=True)
        elif kind == "section":
            assert "text" in block or "fields" in block, "a section needs text or fields"
            if "text" in block:
                _text_object(block["text"], limit=3000)
            fields = block.get("fields") or []
            assert len(fields) <= 10, "a section has at most 10 fields"
            for item in fields:
                _text_object(item, limit=2000)
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10, "a context has 1 to 10 elements"
            for element in block["elements"]:
                _text_object(element, limit=3000)
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25, "actions has 1 to 25 elements"
            for element in block["elements"]:
                assert element["type"] == "button", element["type"]
                _text_object(element["text"], limit=75, plain=True)
                assert str(element["url"]).startswith(("http://", "https://")) and len(element["url"]) <= 3000


class FakeTeamsWebhook(_Receiver):
    """Both Teams kinds: a Workflows URL (``url``) and a legacy connector URL (``legacy_url``)."""

    def __init__(self) -> None:
        super().__init__()
        self.sig = secrets.token_urlsafe(24)
        self.workflow = secrets.token_hex(16)
        self.server.route("POST", r"/workflows/(?P<workflow>\w+)/triggers/manual/paths/invoke")(
            self._workflow
        )
        self.server.route(
            "POST", r"/webhookb2/(?P<group>[\w@-]+)/IncomingWebhook/(?P<hook>\w+)/(?P<guid>[\w-]+)"
        )(self._legacy)

    @property
    def url(self) -> str:
        return (
            f"{self.server.url}/workflows/{self.workflow}/triggers/manual/paths/invoke"
            f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.sig}"
        )

    @property
    def legacy_url(self) -> str:
        return (
            f"{self.server.url}/webhookb2/0a1b2c3d-0000-4000-8000-000000000001@0a1b2c3d-0000-4000-8000-000000000002"
            f"/IncomingWebhook/{self.workflow}/0a1b2c3d-0000-4000-8000-000000000003"
        )

    def _workflow(self, request: FakeRequest, workflow: str) -> FakeResponse:
        if workflow != self.workflow or request.param("sig") != self.sig or request.param("sv") != "1.0":
            return FakeResponse(
                401, {"error": {"code": "DirectApiAuthorizationRequired", "message": "bad sig"}}
            )
        try:
            body = self._json(request)
            workflow_check(body)
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            self.refused.append(str(exc))
            return FakeResponse(400, {"error": {"code": "InvalidRequestContent", "message": str(exc)}})
        self.messages.append(body)
        return FakeResponse(202, None)

    def _legacy(self, request: FakeRequest, group: str, hook: str, guid: str) -> FakeResponse:
        if hook != self.workflow:
            return FakeResponse(404, "Webhook not found", {"Content-Type": "text/plain"})
        try:
            body = self._json(request)
            message_card_check(body)
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            self.refused.append(str(exc))
            return FakeResponse(400, "Summary or Text is required.", {"Content-Type": "text/plain"})
        self.messages.append(body)
        return FakeResponse(200, "1", {"Content-Type": "text/plain"})


def _card_element(element: dict[str, Any]) -> None:
    kind = element["type"]
    assert kind in CARD_ELEMENTS, f"unknown card element {kind}"
    if kind == "TextBlock":
        assert isinstance(element["text"], str) and element["text"], "a TextBlock needs text"
    if kind == "FactSet":
        assert element["facts"], "a FactSet needs facts"
        for fact in element["facts"]:
            assert isinstance(fact["title"], str) and isinstance(fact["value"], str), (
                "a fact is title + value"
            )


def adaptive_card_check(card: Any) -> None:
    assert card["type"] == "AdaptiveCard", "content.type must be AdaptiveCard"
    assert re.fullmatch(r"1\.[0-6]", str(card["version"])), "a card version Teams renders (1.0 to 1.6)"
    for element in card.get("body") or []:
        _card_element(element)
    for action in card.get("actions") or []:
        assert action["type"] in ("Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility"), action[
            "type"
        ]
        if action["type"] == "Action.OpenUrl":
            assert str(action["url"]).startswith(("http://", "https://")), "Action.OpenUrl needs a url"


def workflow_check(body: Any) -> None:
    """Raise unless ``body`` is what the Workflows "post card" template takes: a message of Adaptive Cards."""
    assert body["type"] == "message", "type must be message"
    attachments = body["attachments"]
    assert isinstance(attachments, list) and attachments, "attachments must be a non-empty list"
    for attachment in attachments:
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive", "contentType"
        assert "contentUrl" in attachment and attachment["contentUrl"] is None, "contentUrl must be null"
        adaptive_card_check(attachment["content"])


def message_card_check(body: Any) -> None:
    assert body["@type"] == "MessageCard" and body["@context"] == "https://schema.org/extensions", "@type"
    assert body.get("summary") or body.get("text"), "Summary or Text is required."
    for section in body.get("sections") or []:
        for fact in section.get("facts") or []:
            assert isinstance(fact["name"], str) and isinstance(fact["value"], str), "a fact is name + value"
    for action in body.get("potentialAction") or []:
        assert action["@type"] == "OpenUri" and action["targets"][0]["uri"].startswith("http"), "OpenUri"
