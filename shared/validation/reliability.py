"""Per-source reliability: how often a source answers, agrees with the others, and how fast.

Recorded once per (game, game version) — a mark document created in the same transaction makes
a redelivered game-final count once. A source whose disagreement rate over its last `WINDOW`
games rises above its norm logs `source disagreement drift` (an alert line) when it crosses.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping

from shared.contracts.validation import GameFinal
from shared.ports.documents import DocumentStore
from shared.validation import records
from shared.validation.consensus import ConsensusPolicy, SourceReport

log = logging.getLogger("sportsflow.validation")
WINDOW = 50
MIN_SAMPLES = 20
DEFAULT_NORM = 0.05  # disagreement rate a healthy source stays under


@dataclass
class ReliabilityRecorder:
    documents: DocumentStore
    norms: Mapping[str, float] = field(default_factory=dict)

    def record_game(self, event: GameFinal, reports: Mapping[str, SourceReport],
                    agreement: Mapping[str, bool | None], policy: ConsensusPolicy) -> None:
        latency = {o.source: o.latency_ms for o in event.sources}
        mark = f"{records.SOURCE_STAT_MARKS}/{event.game_id}__v{event.game_version}"
        sources = sorted(policy.weights)

        def update(tx) -> list[str]:
            if tx.get(mark) is not None:
                return []
            current = {s: tx.get(f"{records.SOURCE_STATS}/{s}") for s in sources}
            drifting = []
            for source in sources:
                stats = dict(current[source].data) if current[source] else _empty(source)
                report = reports.get(source)
                stats["games"] += 1
                if report is None or report.facts is None:
                    stats["errors"] += 1
                else:
                    stats["answered"] += 1
                    stats["latency_ms_total"] += latency.get(source, 0.0)
                    agreed = agreement.get(source)
                    stats["agreed" if agreed else "disagreed"] += 1
                    stats["recent"] = (list(stats["recent"]) + [0 if agreed else 1])[-WINDOW:]
                rate = sum(stats["recent"]) / len(stats["recent"]) if len(stats["recent"]) >= MIN_SAMPLES else 0.0
                was_drifting, stats["drifting"] = stats.get("drifting", False), rate > self.norm(source)
                stats["recent_disagreement_rate"] = round(rate, 4)
                if stats["drifting"] and not was_drifting:
                    drifting.append(source)
                tx.set(f"{records.SOURCE_STATS}/{source}", stats)
            tx.create(mark, {"game_id": event.game_id, "game_version": event.game_version})
            return drifting

        for source in self.documents.run_transaction(update):
            stats = self.stats(source)
            log.warning("source disagreement drift", extra={"fields": {
                "source": source, "recent_disagreement_rate": stats["recent_disagreement_rate"],
                "norm": self.norm(source), "window": WINDOW,
                "next": "compare the source's payloads in the review queue; lower its weight if it stays wrong"}})

    def norm(self, source: str) -> float:
        return self.norms.get(source, DEFAULT_NORM)

    def stats(self, source: str) -> dict:
        doc = self.documents.get(f"{records.SOURCE_STATS}/{source}")
        return summary(doc.data) if doc else summary(_empty(source))

    def all_stats(self, sources) -> dict[str, dict]:
        return {source: self.stats(source) for source in sources}


def _empty(source: str) -> dict:
    return {"source": source, "games": 0, "answered": 0, "errors": 0, "agreed": 0, "disagreed": 0,
            "latency_ms_total": 0.0, "recent": [], "drifting": False, "recent_disagreement_rate": 0.0}


def summary(stats: dict) -> dict:
    answered = stats["answered"]
    return {**{k: v for k, v in stats.items() if k != "recent"},
            "agreement_rate": round(stats["agreed"] / answered, 4) if answered else None,
            "error_rate": round(stats["errors"] / stats["games"], 4) if stats["games"] else None,
            "mean_latency_ms": round(stats["latency_ms_total"] / answered, 3) if answered else None}
