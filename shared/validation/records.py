"""Where validation keeps things: document paths, evidence keys, retention."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from shared.ports.evidence_rules import retention_floor

DECISIONS = "validation_decisions"
REVIEWS = "validation_reviews"
OVERRIDES = "validation_overrides"
GAMES = "validation_games"
MONITOR_DATES = "validation_monitor_dates"
METRICS = "validation_metrics"
SOURCE_STATS = "validation_source_stats"
SOURCE_STAT_MARKS = "validation_source_stat_marks"
NOTIFICATIONS = "validation_notifications"

# Evidence is kept 7 years after the game (a common record-keeping period for promotions law).
EVIDENCE_RETENTION = timedelta(days=7 * 365)

# Crash points between two effects (shared.runtime.crash_points).
EVIDENCE_STORED = "validation.evidence_stored"      # the decision's evidence is stored, the decision not recorded
DECISION_RECORDED = "validation.decision_recorded"  # recorded (with its log leaf), the event not published
GAME_CLAIMED = "monitor.game_claimed"               # a new game version is recorded, game-final not published
POINTS = (EVIDENCE_STORED, DECISION_RECORDED, GAME_CLAIMED)


def decision_key(game_id: str, game_version: int, promotion_id: str, rule_version: int) -> str:
    return f"{game_id}__v{game_version}__{promotion_id}__r{rule_version}"


def decision_evidence_key(day: date, game_id: str, game_version: int, promotion_id: str, rule_version: int) -> str:
    return f"validation/decisions/{day.isoformat()}/{game_id}/v{game_version}/{promotion_id}/r{rule_version}.json"


def payload_evidence_key(day: date, game_id: str, source: str, sha256: str) -> str:
    return f"validation/payloads/{day.isoformat()}/{game_id}/{source}-{sha256[:16]}.json"


def override_evidence_key(decision: str, action_id: str) -> str:
    return f"validation/overrides/{decision}/{action_id}.json"


def retain_until(day: date) -> datetime:
    """Seven years from the game, deterministic per game, so a retried write stores identical
    evidence; for a game so old that this would fall below the evidence store's floor
    (evidence_rules.RETENTION_FLOORS: a backfill, the synthetic 1999 game), seven years from today."""
    today = datetime.now(timezone.utc).date()
    from_game = datetime.combine(day, time(), tzinfo=timezone.utc) + EVIDENCE_RETENTION
    floor = datetime.combine(today, time(), tzinfo=timezone.utc) + retention_floor("validation/")[1]
    return from_game if from_game > floor + timedelta(days=1) else \
        datetime.combine(today, time(), tzinfo=timezone.utc) + EVIDENCE_RETENTION
