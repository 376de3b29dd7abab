"""The e-mails of the local portal (`./firebreak start`): Django's file backend writes them under
EMAIL_FILE_PATH instead of the terminal, and this reads them back for /notifications/mail/."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import timezone
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from django.conf import settings

# The file backend separates the messages of one connection with a line of 79 dashes.
SEPARATOR = "\n" + "-" * 79 + "\n"
NEWEST_FILES = 200


@dataclass
class LocalMail:
    sent_at: object
    sender: str
    recipients: list[str]
    subject: str
    body: str


def enabled() -> bool:
    return bool(settings.FIREBREAK_LOCAL) and settings.EMAIL_BACKEND.endswith(
        "filebased.EmailBackend")


def local_mails(*, for_address: str | None, limit: int = 50) -> list[LocalMail]:
    """Newest first; only those sent to `for_address` unless it is None (everyone's)."""
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.log"), key=lambda path: path.stat().st_mtime, reverse=True)
    found: list[LocalMail] = []
    for path in files[:NEWEST_FILES]:
        text = path.read_text(encoding="utf-8", errors="replace")
        for chunk in reversed([part for part in text.split(SEPARATOR) if part.strip()]):
            mail = _parse(chunk)
            if for_address is None or for_address.lower() in (r.lower() for r in mail.recipients):
                found.append(mail)
                if len(found) >= limit:
                    return found
    return found


def _parse(chunk: str) -> LocalMail:
    message = email.message_from_string(chunk.lstrip("\n"), policy=email.policy.default)
    part = message.get_body(preferencelist=("plain", "html")) if message.is_multipart() else message
    try:
        body = part.get_content() if part is not None else ""
    except (LookupError, KeyError):
        body = str(part.get_payload()) if part is not None else ""
    try:
        sent_at = parsedate_to_datetime(message["Date"]) if message["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    if sent_at is not None and sent_at.tzinfo is None:  # "-0000": UTC, zone unknown
        sent_at = sent_at.replace(tzinfo=timezone.utc)
    to = [address for _, address in getaddresses(message.get_all("To", []))]
    return LocalMail(sent_at=sent_at, sender=str(message["From"] or ""), recipients=to,
                     subject=str(message["Subject"] or ""), body=body)
