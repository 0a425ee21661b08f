"""Prediction coverage of a date (the /status route, `sportsflow status`, the run report): how many
of the date's expected players are predicted, and for each one that is not, why."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from shared.pipeline import data_versions
from shared.predictions.batches import BatchLedger
from shared.predictions.fan_out import FEATURES
from shared.predictions.readiness import completion_published
from shared.runtime.dead_letters import list_dead_letters

if TYPE_CHECKING:
    from shared.bootstrap import Services

log = logging.getLogger("sportsflow.predictions")
TARGET = 0.9
REQUEST_TOPIC = "prediction-request"


@dataclass
class Coverage:
    game_date: str
    batch_id: str | None = None
    generation: int = 0
    expected: int = 0            # players expected on the date (Phase 3's upcoming contexts)
    requested: int = 0
    predicted: int = 0
    complete: bool = False       # phase5-predictions-complete published for the current batch
    switched_off: bool = False   # predictions were not requested for this date (a backfill)
    superseded: bool = False     # the date's features changed after its current batch was opened
    missing: dict[str, list[int]] = field(default_factory=dict)  # reason → player ids
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.predicted / self.expected if self.expected else (1.0 if self.requested == 0 else 0.0)

    def as_json(self) -> dict[str, Any]:
        return {"date": self.game_date, "batch_id": self.batch_id, "generation": self.generation,
                "expected": self.expected, "requested": self.requested, "predicted": self.predicted,
                "coverage": round(self.ratio, 4), "complete": self.complete, "switched_off": self.switched_off,
                "superseded": self.superseded,
                "missing": {reason: players for reason, players in self.missing.items()},
                "errors": {str(k): v for k, v in self.errors.items()}}


def coverage(services: "Services", day: date) -> Coverage:
    report = Coverage(game_date=day.isoformat(), expected=len(expected_players(services, day)))
    ledger = BatchLedger(services.documents)
    batch = ledger.current(day)
    report.switched_off = services.documents.get(f"phase5_switched_off/{day.isoformat()}") is not None
    if batch is None:
        if report.expected and not report.switched_off:
            report.missing["never requested"] = sorted(expected_players(services, day))
        return report
    ready = ledger.ready(batch.batch_id)
    requested = {p.player_id for p in batch.players[:batch.published_upto]}
    unpublished = sorted(p.player_id for p in batch.players[batch.published_upto:])
    predicted = ledger.done(batch.batch_id)  # the workers' own record, not their announcements
    failed = {player: data["error"] for player, data in ready.items() if not data["succeeded"]}
    dead = _dead_lettered(services, day, batch.batch_id)
    report.batch_id, report.generation = batch.batch_id, batch.generation
    report.requested, report.predicted = len(requested), len(predicted & requested)
    current = data_versions.current_version(services.documents, FEATURES, day)
    report.superseded = current is not None and current != batch.feature_data_version
    report.complete = completion_published(services, batch) and not report.superseded
    report.errors = {p: failed.get(p) or dead.get(p, "") for p in sorted(set(failed) | set(dead)) if p not in predicted}
    never = sorted(expected_players(services, day) - requested)
    not_yet = sorted(requested - predicted - set(failed) - set(dead))
    if report.superseded:
        report.missing["features changed since these predictions (run the date again)"] = sorted(requested)
    for reason, players in (("not yet requested (fan-out unfinished)", unpublished),
                            ("failed", sorted(set(failed) - predicted - set(dead))),
                            ("dead-lettered", sorted(set(dead) - predicted)),
                            ("never requested", never), ("requested, not yet predicted", not_yet)):
        if players:
            report.missing[reason] = players
    return report


def check_coverage(services: "Services", day: date) -> Coverage:
    """The 7:00 check: log `prediction coverage low` (alerted by infra/monitoring.tf) under the target."""
    report = coverage(services, day)
    if report.expected and not report.switched_off:  # the gauge the "coverage below target" rule reads
        from shared.metrics.recorder import process_metrics
        process_metrics(services.settings).record("prediction_coverage", round(report.ratio, 4),
                                                  analysis_date=day.isoformat())
    if report.expected and report.ratio < TARGET and not report.switched_off:
        log.error("prediction coverage low", extra={"fields": {
            "analysis_date": day.isoformat(), "coverage": round(report.ratio, 4), "target": TARGET,
            "expected": report.expected, "predicted": report.predicted,
            "missing": {reason: len(players) for reason, players in report.missing.items()}}})
    return report


def expected_players(services: "Services", day: date) -> set[int]:
    rows = services.warehouse.query("SELECT DISTINCT player_id FROM nba_analytics.upcoming_player_game_context "
                                    "WHERE game_date = @d", {"d": day})
    return {int(r["player_id"]) for r in rows}


def _dead_lettered(services: "Services", day: date, batch_id: str) -> dict[int, str]:
    import base64
    import json

    found: dict[int, str] = {}
    for letter in list_dead_letters(services.documents, REQUEST_TOPIC):
        try:
            payload = json.loads(base64.b64decode(letter["original_data_b64"]))["payload"]
        except (ValueError, KeyError, TypeError):
            continue
        if payload.get("batch_id") == batch_id and payload.get("player_id"):
            found[int(payload["player_id"])] = letter.get("reason", "")
    return found


def top_predictions(warehouse, day: date, *, system: str = "ensemble", limit: int = 10) -> list[dict[str, Any]]:
    """The date's highest `system` points predictions, with threes and both lines (for reports)."""
    from shared.predictions.tables import PLAYER_PROP_PREDICTIONS
    table = PLAYER_PROP_PREDICTIONS.qualified_name
    return warehouse.query(f"""
        SELECT p.player_name, p.team_abbr, p.prediction AS points, p.interval_low AS points_low,
               p.interval_high AS points_high, p.line AS points_line, t.prediction AS threes, t.line AS threes_line
        FROM {table} AS p
        LEFT JOIN {table} AS t ON t.game_date = p.game_date AND t.player_id = p.player_id AND t.game_id = p.game_id
          AND t.system = p.system AND t.batch_id = p.batch_id AND t.market = 'threes'
        WHERE p.game_date = @d AND p.system = @s AND p.market = 'points'
        ORDER BY p.prediction DESC, p.player_id LIMIT {int(limit)}""", {"d": day, "s": system})
