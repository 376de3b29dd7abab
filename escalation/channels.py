"""Senders for each delivery channel: email, and Slack / Microsoft Teams / signed JSON webhooks.

Each sender delivers one `Notification` and either returns (delivered, with the HTTP status for
webhooks) or raises `DeliveryError`. They carry the notification's idempotency id (email
Message-ID, webhook X-Webhook-Id) so a receiver can drop a message it already has: a sender that
dies between sending and recording sends again with the same id. Senders do no database writes."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from email.utils import formataddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from incidents.validation import single_line

from .models import Notification, WebhookEndpoint
from .webhook_targets import CheckedHTTPHandler, CheckedHTTPSHandler, UnsafeWebhookTarget

WEBHOOK_ID_HEADER = "X-Webhook-Id"
WEBHOOK_TIMESTAMP_HEADER = "X-Webhook-Timestamp"
WEBHOOK_SIGNATURE_HEADER = "X-Webhook-Signature"
USER_AGENT = "Firebreak-Notifications/1"


class DeliveryError(Exception):
    """A send that did not succeed. `permanent` ones are not retried (nothing would change)."""

    def __init__(self, message: str, *, status_code: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status_code = status_code
        self.permanent = permanent


def send_timeout() -> float:
    """Seconds a single network operation may take before the attempt counts as failed."""
    return float(getattr(settings, "NOTIFICATION_SEND_TIMEOUT", 10))


def absolute_url(url: str) -> str:
    if not url or urlsplit(url).scheme:
        return url
    return f"{settings.SITE_URL}/{url.lstrip('/')}"


def message_id(notification: Notification) -> str:
    return f"<{notification.idempotency_id}@firebreak>"


# --- Email -----------------------------------------------------------------------------------

def build_contact_email(notification: Notification) -> EmailMessage:
    """For someone without a login: the message itself, no portal link, no preferences; about
    an incident restricted by now, the redacted title only (they can never be a participant)."""
    notification = _as_channel_may_see(notification)
    return EmailMessage(
        subject=notification.title,
        body=notification.body.strip(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((notification.to_name, notification.to_address))],
        headers={"Message-ID": message_id(notification), "X-Firebreak-Reason": notification.reason},
    )


def build_email(notification: Notification) -> EmailMessage:
    recipient = notification.recipient
    if recipient is None and notification.to_address:
        return build_contact_email(notification)
    if recipient is None or not recipient.email:
        raise DeliveryError("The recipient has no email address.", permanent=True)
    lines = [notification.body.strip()] if notification.body.strip() else []
    if notification.url:
        lines.append(f"Open in Firebreak: {absolute_url(notification.url)}")
    lines.append("You receive this because of your Firebreak notification preferences.")
    return EmailMessage(
        # One line whatever the title holds: a line break in a subject fails the send for good.
        subject=f"[Firebreak] {single_line(notification.title)}",
        body="\n\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
        # A stable Message-ID: a message re-sent after a crash is recognisably the same one.
        headers={"Message-ID": message_id(notification), "X-Firebreak-Reason": notification.reason},
    )


def send_email(notification: Notification, connection=None) -> None:
    """Send over `connection` (one SMTP session shared by a delivery batch) or a new one."""
    message = build_email(notification)
    try:
        message.connection = connection or get_connection(fail_silently=False,
                                                          timeout=send_timeout())
        sent = message.send()
    except DeliveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - SMTP, socket and backend errors all mean "retry"
        raise DeliveryError(f"Email not sent: {type(exc).__name__}: {exc}") from exc
    if sent != 1:
        raise DeliveryError("Email backend reported nothing sent.")


# --- Webhook payloads ------------------------------------------------------------------------

def _incident_summary(notification: Notification) -> dict | None:
    incident = notification.incident
    if incident is None:
        return None
    if incident.is_restricted:
        return {"restricted": True, "severity": incident.severity.code, "state": incident.state}
    return {
        "reference": incident.reference,
        "title": incident.title,
        "severity": incident.severity.code,
        "state": incident.state,
    }


def _slack_escape(text: str) -> str:
    # Slack mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notification: Notification) -> dict:
    """Slack incoming-webhook message: `text` is the fallback, `blocks` the formatted message."""
    title = _slack_escape(notification.title)
    body = _slack_escape(notification.body.strip())
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": notification.title[:150]}},
    ]
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}})
    context = [f"*{_slack_escape(notification.reason)}*"]
    incident = _incident_summary(notification)
    if incident:
        context.insert(0, f"{incident.get('reference', 'Restricted')} · {incident['severity']} · "
                          f"{incident['state']}")
    blocks.append({"type": "context",
                   "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    url = absolute_url(notification.url)
    if url:
        blocks.append({
            "type": "actions",
            "elements": [{"type": "button", "url": url,
                          "text": {"type": "plain_text", "text": "Open in Firebreak"}}],
        })
    text = f"{title} <{url}|Open>" if url else title
    return {"text": text, "blocks": blocks}


def teams_payload(notification: Notification) -> dict:
    """Microsoft Teams incoming webhook / Workflows message carrying an Adaptive Card."""
    body: list[dict] = [
        {"type": "TextBlock", "text": notification.title, "weight": "Bolder", "size": "Medium",
         "wrap": True},
    ]
    incident = _incident_summary(notification)
    if incident:
        body.append({"type": "FactSet", "facts": [
            {"title": "Incident", "value": incident.get("reference", "Restricted")},
            {"title": "Severity", "value": incident["severity"]},
            {"title": "State", "value": incident["state"]},
        ]})
    if notification.body.strip():
        body.append({"type": "TextBlock", "text": notification.body.strip(), "wrap": True})
    card: dict = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    url = absolute_url(notification.url)
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Firebreak", "url": url}]
    return {
        "type": "message",
        "summary": notification.title,
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": card,
        }],
    }


def json_payload(notification: Notification) -> dict:
    """The generic JSON event. `id` equals the X-Webhook-Id header; receivers dedupe on it."""
    return {
        "id": str(notification.idempotency_id),
        "reason": notification.reason,
        "title": notification.title,
        "body": notification.body,
        "url": absolute_url(notification.url),
        "subject": {
            "type": f"{notification.content_type.app_label}.{notification.content_type.model}",
            "id": notification.object_id,
        },
        "incident": _incident_summary(notification),
        "created_at": notification.created_at.isoformat(),
        "sent_at": timezone.now().isoformat(),
    }


def _as_channel_may_see(notification: Notification) -> Notification:
    """A channel is read by people we cannot check: about an incident restricted by now (even if
    it was not when the row was queued) it gets no title, details or link."""
    incident = notification.incident
    if incident is None or not incident.is_restricted:
        return notification
    from .notifications import redacted_title

    shown = copy.copy(notification)
    shown.title, shown.body, shown.url = redacted_title(incident), "", ""
    return shown


PAYLOAD_BUILDERS = {
    WebhookEndpoint.Format.SLACK: slack_payload,
    WebhookEndpoint.Format.TEAMS: teams_payload,
    WebhookEndpoint.Format.JSON: json_payload,
}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256, with the endpoint's secret, of the X-Webhook-Timestamp
    value, a full stop and the raw request body. Signing the time lets a receiver refuse a
    captured request replayed later."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_is_valid(secret: str, body: bytes, header_value: str, timestamp: str, *,
                       now: float | None = None, tolerance: int = 300) -> bool:
    """What a receiver does with X-Webhook-Signature and X-Webhook-Timestamp (the README shows
    the same; tests use it): a valid signature of a request sent within `tolerance` seconds."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(age) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header_value or "")


def build_webhook_request(notification: Notification) -> urllib.request.Request:
    endpoint = notification.webhook
    if endpoint is None:
        raise DeliveryError("The notification has no webhook endpoint.", permanent=True)
    if urlsplit(endpoint.url).scheme not in {"http", "https"}:
        raise DeliveryError("Only http(s) webhook URLs are allowed.", permanent=True)
    body = json.dumps(PAYLOAD_BUILDERS[endpoint.format](_as_channel_may_see(notification)),
                      separators=(",", ":"))
    raw = body.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        WEBHOOK_ID_HEADER: str(notification.idempotency_id),
        WEBHOOK_TIMESTAMP_HEADER: timestamp,
    }
    if endpoint.format == WebhookEndpoint.Format.JSON and endpoint.secret:
        headers[WEBHOOK_SIGNATURE_HEADER] = sign(endpoint.secret, timestamp, raw)
    return urllib.request.Request(endpoint.url, data=raw, headers=headers, method="POST")


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET without the body (or leak it elsewhere).
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# Connects only to addresses webhook_targets allows (checked at each send), directly: an
# environment proxy would make the connection on our behalf, past that check.
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), CheckedHTTPHandler, CheckedHTTPSHandler, _RefuseRedirects)


def send_webhook(notification: Notification) -> int:
    """POST the payload; returns the HTTP status (2xx) or raises DeliveryError."""
    request = build_webhook_request(notification)
    try:
        with _opener.open(request, timeout=send_timeout()) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"Webhook answered HTTP {exc.code} {exc.reason}.",
                            status_code=exc.code) from exc
    except UnsafeWebhookTarget as exc:  # checked at each send; saving checked it too
        raise DeliveryError(f"Webhook not sent: {exc}", permanent=True) from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"Webhook not reached: {reason}") from exc


def email_connection():
    """An SMTP session for a batch of e-mails (opened on first use, closed by the caller)."""
    return get_connection(fail_silently=False, timeout=send_timeout())


def send(notification: Notification, *, email_connection=None) -> int | None:
    """Deliver on the notification's channel. In-app notifications are delivered by existing."""
    if notification.channel == Notification.Channel.EMAIL:
        send_email(notification, email_connection)
        return None
    if notification.channel == Notification.Channel.WEBHOOK:
        return send_webhook(notification)
    return None
