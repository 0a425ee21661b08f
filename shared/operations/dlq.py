"""Dead letters: list them, show one, replay them to their original topic.

A replay republishes the letter's original message to its source topic with the envelope's
`attempt` raised (one more than the original and every earlier replay) and attributes linking
it to the letter (`replay_of_dead_letter`, `replay_number`). The message id stays the original's,
so consumers that dedupe on it still do. Every handler is idempotent, so a replay can never
double an effect; the replay is recorded anyway (`dead_letter_replays/{letter}__{n}` and the
letter's `replays`), so a second replay of the same letter is recognised and skipped unless
forced.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from shared.contracts.envelope import Envelope
from shared.ports.documents import DocumentStore, is_document_id
from shared.runtime.dead_letters import COLLECTION, date_of_original

REPLAYS = "dead_letter_replays"
REPLAY_ATTRIBUTE = "replay_of_dead_letter"
PublishRaw = Callable[[str, bytes, Mapping[str, str]], str]


class DeadLetterNotFound(LookupError):
    """No recorded dead letter has this id."""


@dataclass(frozen=True)
class Letter:
    id: str
    data: dict[str, Any]

    @property
    def source_topic(self) -> str:
        return self.data.get("source_topic", "")

    @property
    def replays(self) -> int:
        return int(self.data.get("replays") or 0)

    def summary(self) -> dict[str, Any]:
        data = self.data
        return {"id": self.id, "recorded_at": _text(data.get("recorded_at")), "source_topic": self.source_topic,
                "function": data.get("function", ""), "error_kind": data.get("error_kind", ""),
                "reason": data.get("reason", ""), "delivery_attempt": data.get("delivery_attempt", 0),
                "replays": self.replays, "last_replayed_at": _text(data.get("last_replayed_at")),
                "analysis_date": date_of_original(self.original_bytes())}

    def original_bytes(self) -> bytes:
        return base64.b64decode(self.data.get("original_data_b64") or "")

    def unreplayable_reason(self) -> str | None:
        """Why this letter cannot be republished as it is, or None."""
        if (self.data.get("details") or {}).get("truncated"):
            return "the original message was too large and only a prefix was kept: republish it from its source"
        try:
            Envelope.model_validate_json(self.original_bytes())
        except ValueError:
            return "the original bytes are not a message envelope (they can never parse): fix the producer"
        return None


@dataclass
class ReplayReport:
    dry_run: bool
    replayed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "replayed": self.replayed, "skipped": self.skipped}


def list_letters(documents: DocumentStore, *, topic: str | None = None, since: datetime | None = None) -> list[Letter]:
    """Recorded dead letters, oldest first, optionally of one source topic and recorded since."""
    filters: list = [("source_topic", "==", topic)] if topic else []
    if since is not None:
        filters.append(("recorded_at", ">=", since))
    letters = [Letter(doc.id, doc.data) for doc in documents.query(COLLECTION, filters)]
    return sorted(letters, key=lambda letter: (_text(letter.data.get("recorded_at")), letter.id))


def show_letter(documents: DocumentStore, letter_id: str) -> dict[str, Any]:
    """One letter in full: its record, the decoded original message, its replays."""
    document = documents.get(f"{COLLECTION}/{letter_id}") if is_document_id(letter_id) else None
    if document is None:
        raise DeadLetterNotFound(f"no dead letter {letter_id!r}: `sportsflow dlq list` shows the ids")
    letter = Letter(document.id, document.data)
    original = letter.original_bytes()
    try:
        message: Any = json.loads(original)
    except ValueError:
        message = original[:2000].decode("utf-8", "replace")
    record = {k: v for k, v in letter.data.items() if k != "original_data_b64"}
    replays = [doc.data for doc in documents.query(REPLAYS, [("dead_letter", "==", letter.id)])]
    return {**letter.summary(), "record": record, "original_message": message,
            "replayable": letter.unreplayable_reason() or "yes",
            "replay_history": sorted(replays, key=lambda r: r.get("replay_number", 0))}


def replay_letters(documents: DocumentStore, letters: list[Letter], publish_raw: PublishRaw, *,
                   dry_run: bool = False, force: bool = False) -> ReplayReport:
    """Republish each letter to its source topic (see the module docstring); record each replay."""
    report = ReplayReport(dry_run=dry_run)
    for letter in letters:
        why_not = letter.unreplayable_reason()
        if why_not is None and letter.replays and not force:
            why_not = (f"already replayed {letter.replays}x (last at {_text(letter.data.get('last_replayed_at'))}); "
                       "--force replays it again (safe: handlers are idempotent)")
        if why_not:
            report.skipped.append({"id": letter.id, "source_topic": letter.source_topic, "reason": why_not})
            continue
        number = letter.replays + 1
        data, attributes = replay_message(letter, number)
        entry = {"id": letter.id, "source_topic": letter.source_topic, "replay_number": number,
                 "analysis_date": date_of_original(data)}
        if not dry_run:
            entry["message_id"] = publish_raw(letter.source_topic, data, attributes)
            _record_replay(documents, letter, number, entry["message_id"])
        report.replayed.append(entry)
    return report


def replay_message(letter: Letter, number: int) -> tuple[bytes, dict[str, str]]:
    """The original envelope with a new attempt, and attributes linking it to the letter."""
    envelope = Envelope.model_validate_json(letter.original_bytes())
    attempt = envelope.attempt + number
    data = envelope.model_copy(update={"attempt": attempt}).model_dump_json().encode()
    attributes = {k: v for k, v in (letter.data.get("attributes") or letter.data.get("original_attributes") or {}
                                    ).items() if not k.startswith("CloudPubSubDeadLetter")}
    attributes.update({REPLAY_ATTRIBUTE: letter.id, "replay_number": str(number), "attempt": str(attempt)})
    return data, attributes


def _record_replay(documents: DocumentStore, letter: Letter, number: int, message_id: str) -> None:
    now = documents.now()
    documents.create(f"{REPLAYS}/{letter.id}__{number}",
                     {"dead_letter": letter.id, "replay_number": number, "source_topic": letter.source_topic,
                      "message_id": message_id, "replayed_at": now})
    changes: dict[str, Any] = {"replays": number, "last_replayed_at": now, "last_replay_message_id": message_id}
    if not letter.data.get("redriven_at"):
        changes["redriven_at"] = now  # the reconciler's once-each re-drive: this letter has had it
    documents.update(f"{COLLECTION}/{letter.id}", changes)


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")
