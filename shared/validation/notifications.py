"""Notification adapters for decisions: a log line, a webhook, an e-mail stub.

The `validation_notifier` function delivers each decision at most once per adapter as far as it
can tell (a mark document per decision written after delivery); a crash between delivery and
mark delivers again, so the webhook carries the decision key as its Idempotency-Key.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from shared.contracts.validation import ValidationDecided

log = logging.getLogger("sportsflow.validation.notify")


class Notifier(Protocol):
    def deliver(self, decision: ValidationDecided) -> None: ...


class LogNotifier:
    def deliver(self, decision: ValidationDecided) -> None:
        log.info("promotion decided", extra={"fields": decision.model_dump(mode="json")})


@dataclass
class WebhookNotifier:
    url: str
    timeout_s: float = 5.0

    def deliver(self, decision: ValidationDecided) -> None:
        response = httpx.post(self.url, json=decision.model_dump(mode="json"), timeout=self.timeout_s,
                              headers={"Idempotency-Key": decision.decision_key})
        response.raise_for_status()


@dataclass
class EmailStubNotifier:
    """Writes the e-mail it would send to an outbox file (one JSON line each): no mail server here."""
    outbox: Path
    to: str = "promotions-ops@example.com"
    sent: list[dict] = field(default_factory=list)

    def deliver(self, decision: ValidationDecided) -> None:
        mail = {"to": self.to, "subject": f"{decision.promotion_id}: {decision.outcome} ({decision.game_id})",
                "body": json.dumps(decision.model_dump(mode="json"), sort_keys=True)}
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a", encoding="utf-8") as file:
            file.write(json.dumps(mail) + "\n")
        self.sent.append(mail)


def notifier_from_spec(spec: str, home: Path) -> Notifier:
    """`log` (default), `webhook:URL` or `email` (the stub, into $SPORTSFLOW_HOME/outbox.jsonl)."""
    kind, _, argument = spec.partition(":")
    if kind == "log":
        return LogNotifier()
    if kind == "webhook" and argument:
        return WebhookNotifier(argument)
    if kind == "email":
        return EmailStubNotifier(home / "outbox.jsonl")
    raise ValueError(f"unknown notifier {spec!r}: use log, webhook:URL or email")
