"""Notifier port: announce the outcome of a command (an ingestion's) to people.

Announcing is at-least-once and best effort: the durable record is the execution and its report
in the evidence store; a notice names both. `Notice.notice_id` is stable across re-announcements
of the same attempt, so a receiver can drop duplicates. Adapters: shared.adapters.notifiers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Notice:
    notice_id: str
    subject: str
    outcome: str  # completed | failed
    execution_id: str
    report_key: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Notifier(Protocol):
    def announce(self, notice: Notice) -> None:
        """Deliver the notice, or raise NotificationFailed saying why."""

    def close(self) -> None: ...


class NotificationFailed(Exception):
    pass
