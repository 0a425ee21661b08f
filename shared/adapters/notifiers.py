"""Notifier adapters (shared.ports.notifier), picked by `Settings.notifier`:

- `log`: a structured log line `notification` (the default);
- `webhook`: a JSON POST to `SPORTSFLOW_NOTIFY_WEBHOOK_URL` with an `Idempotency-Key` header;
- `email`: a stub that writes one RFC 5322 `.eml` file per notice to `<home>/outbox/`.
"""
from __future__ import annotations

import json
import logging
from email.message import EmailMessage
from pathlib import Path

import httpx

from shared.config import ConfigError, Settings
from shared.ports.notifier import Notice, NotificationFailed, Notifier

log = logging.getLogger("sportsflow.notifications")

NOTIFIERS = ("log", "webhook", "email")
WEBHOOK_TIMEOUT_S = 5.0


class LogNotifier:
    def announce(self, notice: Notice) -> None:
        level = logging.INFO if notice.outcome == "completed" else logging.WARNING
        log.log(level, "notification", extra={"fields": notice.as_dict()})

    def close(self) -> None:
        pass


class WebhookNotifier:
    def __init__(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self._http = httpx.Client(timeout=WEBHOOK_TIMEOUT_S, transport=transport)

    def announce(self, notice: Notice) -> None:
        try:
            response = self._http.post(self.url, json=notice.as_dict(), headers={"Idempotency-Key": notice.notice_id})
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise NotificationFailed(f"webhook {self.url} did not take the notice: {error}") from error

    def close(self) -> None:
        self._http.close()


class EmailStubNotifier:
    """Writes what would be sent; `<notice_id>.eml` so a re-announcement rewrites the same file."""

    def __init__(self, outbox: Path, *, to: str, sender: str = "sportsflow@sportsflow.local") -> None:
        self.outbox, self.to, self.sender = Path(outbox), to, sender

    def announce(self, notice: Notice) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, self.to, notice.subject
        message["Message-ID"] = f"<{notice.notice_id}@sportsflow.local>"
        message.set_content(json.dumps(notice.as_dict(), indent=1, default=str))
        self.outbox.mkdir(parents=True, exist_ok=True)
        path = self.outbox / f"{notice.notice_id.replace(':', '_')}.eml"
        path.write_bytes(bytes(message))

    def close(self) -> None:
        pass


def notifier_for(settings: Settings) -> Notifier:
    """`SPORTSFLOW_NOTIFIER`: `log`, `webhook` (URL in SPORTSFLOW_NOTIFY_WEBHOOK_URL) or `webhook:URL`, `email`."""
    kind, _, url = settings.notifier.partition(":")
    if kind == "log":
        return LogNotifier()
    if kind == "webhook":
        if not (url or settings.notify_webhook_url):
            raise ConfigError("SPORTSFLOW_NOTIFIER=webhook needs SPORTSFLOW_NOTIFY_WEBHOOK_URL (or webhook:URL)")
        return WebhookNotifier(url or settings.notify_webhook_url)
    if kind == "email":
        return EmailStubNotifier(settings.home / "outbox", to=settings.notify_email_to)
    raise ConfigError(f"unknown notifier {settings.notifier!r}: set SPORTSFLOW_NOTIFIER to one of "
                      f"{', '.join(NOTIFIERS)}")
