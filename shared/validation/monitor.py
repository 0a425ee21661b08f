"""The game monitor: polls every source's scoreboard for a date and announces each final game once
per version on `game-final`.

Per poll:

1. re-drive: a game version recorded but not announced (a crash between the two) is published now;
2. fetch every source's scoreboard through the resilience layer; when a source fails, the date is
   polled again next round (up to `max_deferrals` times) before going on without it;
3. per final game: each source's raw entry is stored as evidence (create-only, keyed by its
   SHA-256) and logged; when an entry is new — first sight, or a source's payload changed (a late
   correction) — one transaction records the next game version, then `game-final` is published
   and the version marked announced. An unchanged game is not announced again, so a restarted
   monitor neither misses nor repeats a game; a correction is a new version, never an overwrite.

`validation_games/{game}` (versions, payload hashes, announced or not) and
`validation_monitor_dates/{date}` (rounds polled) are the monitor's checkpoint.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Mapping

from shared.contracts.envelope import Message
from shared.contracts.validation import GameFinal, SourceObservation
from shared.evidence_log.log import EvidenceLog, canonical_json
from shared.ports.documents import DocumentStore
from shared.ports.evidence import EvidenceStore
from shared.ports.evidence_rules import sha256_hex
from shared.resilience.errors import ProviderError
from shared.runtime.crash_points import crash_point
from shared.validation import records
from shared.validation.source_payloads import READ, PayloadUnreadable
from shared.validation.sources import ResultSource, Scoreboard

log = logging.getLogger("sportsflow.validation.monitor")
GAME_FINAL_TOPIC = "game-final"


@dataclass
class PollReport:
    day: date
    round: int
    deferred: bool = False
    announced: list[tuple[str, int]] = field(default_factory=list)  # (game, version)
    redriven: list[tuple[str, int]] = field(default_factory=list)
    unchanged: int = 0
    not_final: int = 0
    source_problems: dict[str, str] = field(default_factory=dict)


class GameMonitor:
    def __init__(self, documents: DocumentStore, evidence: EvidenceStore, evidence_log: EvidenceLog,
                 sources: Mapping[str, ResultSource], publish: Callable[[str, Message], Any], *,
                 max_deferrals: int = 2, synthetic: bool = False) -> None:
        self.documents = documents
        self.evidence = evidence
        self.log = evidence_log
        self.sources = dict(sources)
        self.publish = publish
        self.max_deferrals = max_deferrals
        self.synthetic = synthetic  # announces synthetic games (the 5-minute health check)

    def poll(self, day: date) -> PollReport:
        round_ = self._next_round(day)
        report = PollReport(day, round_, redriven=self.redrive())
        boards: dict[str, Scoreboard] = {}
        for name, source in sorted(self.sources.items()):
            try:
                boards[name] = source.scoreboard(day, round_)
            except ProviderError as error:
                report.source_problems[name] = f"{type(error).__name__}: {error}"
        if report.source_problems and self._deferrals(day) < self.max_deferrals:
            self._defer(day, report.source_problems)
            report.deferred = True
            return report
        game_ids = sorted({gid for board in boards.values() for gid in board.entries})
        for gid in game_ids:
            observations, away = self._observe(day, gid, boards, report.source_problems)
            if away is None:
                report.not_final += 1
                continue
            event = self._claim(day, gid, away, observations)
            if event is None:
                report.unchanged += 1
                continue
            crash_point(records.GAME_CLAIMED, topic=f"{gid}__v{event.game_version}")
            self._announce(event)
            report.announced.append((gid, event.game_version))
        return report

    def redrive(self) -> list[tuple[str, int]]:
        """Announce every recorded game version that was never announced (a crash in between)."""
        redriven = []
        for doc in self.documents.query(records.GAMES, [("published", "==", False)]):
            event = GameFinal.model_validate(doc.data["event"])
            self._announce(event)
            redriven.append((event.game_id, event.game_version))
        if redriven:
            log.warning("game-final re-driven", extra={"fields": {"games": [f"{g}v{v}" for g, v in redriven]}})
        return redriven

    # --- steps -----------------------------------------------------------------------------
    def _observe(self, day: date, gid: str, boards: Mapping[str, Scoreboard],
                 problems: Mapping[str, str]) -> tuple[list[SourceObservation], str | None]:
        """Each source's observation, and the away team when some source says the game is final."""
        observations, final, away = [], False, None
        for name in sorted(self.sources):
            board = boards.get(name)
            entry = board.entries.get(gid) if board else None
            if entry is None:
                observations.append(SourceObservation(source=name, problem=(problems.get(name) or
                                                                            "no entry for the game")[:500]))
                continue
            try:
                facts = READ[name](entry, gid, day)
                final, away = final or facts.final, away or facts.away
            except PayloadUnreadable:
                pass  # stored as it is: the validation says why it cannot use it
            raw = canonical_json(entry)
            sha = sha256_hex(raw)
            key = records.payload_evidence_key(day, gid, name, sha)
            self.evidence.put(key, raw, retain_until=records.retain_until(day), metadata={"source": name})
            self.log.append_now(key, sha)
            observations.append(SourceObservation(source=name, evidence_key=key, sha256=sha,
                                                  latency_ms=round(board.latency_ms, 3)))
        return observations, away if final else None

    def _claim(self, day: date, gid: str, away: str, observations: list[SourceObservation]) -> GameFinal | None:
        shas = {o.source: o.sha256 for o in observations if o.sha256}
        path = f"{records.GAMES}/{gid}"

        def claim(tx) -> GameFinal | None:
            doc = tx.get(path)
            known = dict(doc.data["shas"]) if doc else {}
            if doc and all(known.get(source) == sha for source, sha in shas.items()):
                return None  # nothing new (a source missing this round is not a change)
            version = int(doc.data["version"]) + 1 if doc else 1
            event = GameFinal(game_id=gid, game_date=day, game_version=version, home=gid[:3],
                              away=away, observed_at=self.documents.now(),
                              sources=tuple(observations), synthetic=self.synthetic)
            tx.set(path, {"game_id": gid, "game_date": day.isoformat(), "version": version,
                          "shas": {**known, **shas}, "published": False, "event": event.model_dump(mode="json")})
            return event

        return self.documents.run_transaction(claim)

    def _announce(self, event: GameFinal) -> None:
        self.publish(GAME_FINAL_TOPIC, event)
        path = f"{records.GAMES}/{event.game_id}"

        def mark(tx) -> None:
            doc = tx.get(path)
            if doc is not None and int(doc.data["version"]) == event.game_version:
                tx.update(path, {"published": True})

        self.documents.run_transaction(mark)
        log.info("game-final announced", extra={"fields": {"game_id": event.game_id, "version": event.game_version}})

    # --- the date's checkpoint -------------------------------------------------------------
    def _date_path(self, day: date) -> str:
        return f"{records.MONITOR_DATES}/{day.isoformat()}"

    def _next_round(self, day: date) -> int:
        def bump(tx) -> int:
            doc = tx.get(self._date_path(day))
            data = dict(doc.data) if doc else {"day": day.isoformat(), "rounds": 0, "deferrals": 0}
            data["rounds"] += 1
            data["last_poll_at"] = self.documents.now()
            tx.set(self._date_path(day), data)
            return data["rounds"]
        return self.documents.run_transaction(bump)

    def _deferrals(self, day: date) -> int:
        doc = self.documents.get(self._date_path(day))
        return int(doc.data.get("deferrals", 0)) if doc else 0

    def _defer(self, day: date, problems: Mapping[str, str]) -> None:
        doc = self.documents.get(self._date_path(day))
        self.documents.update(self._date_path(day), {"deferrals": int(doc.data.get("deferrals", 0)) + 1})
        log.warning("scoreboard poll deferred", extra={"fields": {"date": day.isoformat(), "problems": dict(problems)}})
