"""Notifier port: announce an outcome to people — a command's (an ingestion's), a promotion's
decision (validation), an alert.

Announcing is at-least-once and best effort: the durable record is the execution or decision
and its evidence; a notice names them. `Notice.notice_id` is stable across re-announcements
of the same thing, so a receiver can drop duplicates (the webhook sends it as Idempotency-Key).
Adapters: shared.adapters.notifiers (`notifier_for(settings)`), the only notifier family.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Notice:
    notice_id: str
    subject: str
    outcome: str  # a command's completed | failed; a decision's met | not_met | review
    execution_id: str = ""  # the command's execution, when the notice is about one
    report_key: str = ""  # the evidence (an ingestion report, a decision's evidence) in the evidence store
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Notifier(Protocol):
    def announce(self, notice: Notice) -> None:
        """Deliver the notice, or raise NotificationFailed saying why."""

    def close(self) -> None: ...


class NotificationFailed(Exception):
    pass
