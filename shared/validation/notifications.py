"""A promotion's decision announced through the notifier port (shared.ports.notifier): the same
log, webhook and e-mail adapters as every other notice (shared.adapters.notifiers).

The `validation_notifier` function delivers each decision at most once per adapter as far as it
can tell (a mark document per decision written after delivery); a crash between delivery and
mark delivers again, so the notice id — the webhook's Idempotency-Key — is the decision key.
"""
from __future__ import annotations

import os
from dataclasses import replace

from shared.adapters.notifiers import notifier_for
from shared.config import Settings
from shared.contracts.validation import ValidationDecided
from shared.ports.notifier import Notice, Notifier


def decision_notice(decision: ValidationDecided) -> Notice:
    return Notice(notice_id=decision.decision_key,
                  subject=f"{decision.promotion_id}: {decision.outcome} ({decision.game_id})",
                  outcome=decision.outcome, report_key=decision.evidence_key,
                  details=decision.model_dump(mode="json"))


def decision_notifier(settings: Settings) -> Notifier:
    """The notifier SPORTSFLOW_NOTIFIER names now (read at delivery, as the function always did):
    `log` (default), `webhook:URL` (or `webhook` with SPORTSFLOW_NOTIFY_WEBHOOK_URL), `email`."""
    return notifier_for(replace(settings, notifier=os.environ.get("SPORTSFLOW_NOTIFIER", settings.notifier)))


def deliver_decision(decision: ValidationDecided, settings: Settings) -> None:
    notifier = decision_notifier(settings)
    try:
        notifier.announce(decision_notice(decision))
    finally:
        notifier.close()
