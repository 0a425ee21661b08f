"""Walk-forward evaluation of the prediction systems over real dates.

Every `retrain_every_days` (default 7) the systems are trained on the history strictly before
the window (through its first date − 1, through the model registry, not marked current) and
predict the window's games, loaded back from the stored artifacts. Per system and market:
MAE, bias and the 80% interval's coverage, next to two baselines (the season average to date
and the last-10 average — both features known before tip-off). For threes, against the real
prop lines: the share of predicted rows with a line, the over/under hit rate, and the hit rate
when a system disagrees with the line by more than `threshold`.

Scored rows: every player-game with an outcome and a season average to date (a player's first
game has no baseline; how many were left out is reported). A rerun reuses every training that
was already stored (the registry's training key), so an interrupted evaluation resumes cheaply."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from shared.bootstrap import Services
from shared.predictions import model_registry
from shared.predictions.systems.catalog import SYSTEMS
from shared.predictions.systems.data import LAST10_AVERAGE, LINE_FEATURES, MARKETS, SEASON_AVERAGE, History
from shared.predictions.training import load_history

BASELINES: dict[str, dict[str, str]] = {"baseline_season_average": SEASON_AVERAGE,
                                        "baseline_last10_average": LAST10_AVERAGE}
DEFAULT_THRESHOLD = 0.5
LINE_MARKET = "threes"

PROP_RESOLUTION_SQL = """
SELECT COUNT(*) AS player_games, COUNT(player_id) AS resolved
FROM (SELECT game_date, player_name, MAX(player_id) AS player_id FROM nba_raw.prop_lines
      WHERE market = 'player_threes' AND game_date >= @first AND game_date <= @last
      GROUP BY game_date, player_name) AS p
"""


@dataclass(frozen=True)
class Score:
    system: str
    market: str
    rows: int
    mae: float
    bias: float
    interval_coverage: float | None   # None for baselines (no interval)


@dataclass(frozen=True)
class LineScore:
    system: str
    rows_with_line: int
    line_share: float             # of the scored rows: the name-resolution rate seen by predictions
    decided: int                  # rows with a line, no push and a pick (prediction ≠ line)
    hit_rate: float | None
    disagreeing: int              # |prediction − line| > threshold
    disagreeing_hit_rate: float | None


@dataclass
class EvaluationReport:
    start: date
    end: date
    retrain_every_days: int
    threshold: float
    scored_rows: int = 0
    rows_without_baseline: int = 0
    trainings: list[dict[str, Any]] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    line_scores: list[LineScore] = field(default_factory=list)
    prop_lines: dict[str, Any] = field(default_factory=dict)

    def score(self, system: str, market: str) -> Score:
        return next(s for s in self.scores if s.system == system and s.market == market)

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "retrain_every_days": self.retrain_every_days, "threshold": self.threshold,
                "scored_rows": self.scored_rows, "rows_without_baseline": self.rows_without_baseline,
                "trainings": self.trainings, "scores": [asdict(s) for s in self.scores],
                "threes_lines": [asdict(s) for s in self.line_scores], "prop_lines": self.prop_lines}


@dataclass
class _Collected:
    predicted: list[np.ndarray] = field(default_factory=list)
    low: list[np.ndarray] = field(default_factory=list)
    high: list[np.ndarray] = field(default_factory=list)
    actual: list[np.ndarray] = field(default_factory=list)
    line: list[np.ndarray] = field(default_factory=list)

    def joined(self, name: str) -> np.ndarray:
        parts = getattr(self, name)
        return np.concatenate(parts) if parts else np.zeros(0)


def windows(start: date, end: date, every_days: int) -> list[tuple[date, date]]:
    out, first = [], start
    while first <= end:
        last = min(first + timedelta(days=every_days - 1), end)
        out.append((first, last))
        first = last + timedelta(days=1)
    return out


def evaluate(services: Services, start: date, end: date, *, retrain_every_days: int = 7,
             threshold: float = DEFAULT_THRESHOLD,
             progress: Callable[[date, date], None] | None = None) -> EvaluationReport:
    report = EvaluationReport(start, end, retrain_every_days, threshold)
    history = load_history(services.warehouse, end)
    collected: dict[tuple[str, str], _Collected] = {}
    for first, last in windows(start, end, retrain_every_days):
        window = history.between(first, last)
        scored = ~np.isnan(window.features.column(SEASON_AVERAGE["points"]))
        report.rows_without_baseline += int((~scored).sum())
        window = window.take(scored)
        if len(window):
            _predict_window(services, history, first, window, report, collected)
        if progress:
            progress(first, last)
    report.scores, report.line_scores = _scores(collected, threshold)
    report.scored_rows = report.scores[0].rows if report.scores else 0
    report.prop_lines = _prop_resolution(services, start, end)
    return report


def _predict_window(services: Services, history: History, first: date, window: History, report: EvaluationReport,
                    collected: dict[tuple[str, str], _Collected]) -> None:
    through = first - timedelta(days=1)
    trained = model_registry.train(services, through, mark_current=False, history=history.through(through))
    report.trainings.append({"through": through.isoformat(), "versions": trained.versions, "reused": trained.reused})
    models = model_registry.load_versions(services, trained.versions)
    models.check_no_look_ahead(window.features)
    estimates = models.estimate(window.features)
    for system in SYSTEMS:
        for market in MARKETS:
            values = estimates[system][market].values
            low, high = models.intervals(system, market, values)
            _collect(collected, system, market, window, values, low, high)
    for baseline, columns in BASELINES.items():
        for market in MARKETS:
            values = window.features.column(columns[market])
            _collect(collected, baseline, market, window, values, None, None)


def _collect(collected, system, market, window: History, values, low, high) -> None:
    bucket = collected.setdefault((system, market), _Collected())
    bucket.predicted.append(values)
    bucket.actual.append(window.outcomes[market])
    bucket.line.append(window.features.column(LINE_FEATURES[market]))
    if low is not None:
        bucket.low.append(low)
        bucket.high.append(high)


def _scores(collected: dict[tuple[str, str], _Collected], threshold: float) -> tuple[list[Score], list[LineScore]]:
    scores, line_scores = [], []
    for (system, market), bucket in collected.items():
        predicted, actual = bucket.joined("predicted"), bucket.joined("actual")
        error = predicted - actual
        coverage = None
        if bucket.low:
            low, high = bucket.joined("low"), bucket.joined("high")
            coverage = round(float(np.mean((actual >= low) & (actual <= high))), 4)
        scores.append(Score(system, market, len(actual), round(float(np.mean(np.abs(error))), 4),
                            round(float(np.mean(error)), 4), coverage))
        if market == LINE_MARKET:
            line_scores.append(_line_score(system, predicted, actual, bucket.joined("line"), threshold))
    return scores, line_scores


def _line_score(system: str, predicted: np.ndarray, actual: np.ndarray, line: np.ndarray,
                threshold: float) -> LineScore:
    has_line = ~np.isnan(line)
    decided = has_line & (actual != line) & (predicted != line)
    hits = (predicted > line) == (actual > line)
    disagreeing = decided & (np.abs(predicted - line) > threshold)
    return LineScore(system, int(has_line.sum()), round(float(has_line.mean()), 4) if len(line) else 0.0,
                     int(decided.sum()), _rate(hits, decided), int(disagreeing.sum()), _rate(hits, disagreeing))


def _rate(hits: np.ndarray, selected: np.ndarray) -> float | None:
    return round(float(hits[selected].mean()), 4) if selected.any() else None


def _prop_resolution(services: Services, first: date, last: date) -> dict[str, Any]:
    """How many of the odds feed's threes player-games resolved to a player id."""
    row = services.warehouse.query(PROP_RESOLUTION_SQL, {"first": first, "last": last})[0]
    total, resolved = int(row["player_games"] or 0), int(row["resolved"] or 0)
    return {"player_games": total, "resolved": resolved,
            "resolution_rate": round(resolved / total, 4) if total else None}
