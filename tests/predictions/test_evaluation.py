"""Walk-forward evaluation: retrains on the past only, scores systems and baselines, resumes."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from shared.predictions.evaluation import _line_score, evaluate, windows
from shared.predictions.systems import MARKETS, SYSTEMS


def test_windows_cover_the_range_without_gaps():
    assert windows(date(2025, 1, 1), date(2025, 1, 17), 7) == [
        (date(2025, 1, 1), date(2025, 1, 7)), (date(2025, 1, 8), date(2025, 1, 14)),
        (date(2025, 1, 15), date(2025, 1, 17))]


def test_evaluation_retrains_before_each_window_and_scores_systems_and_baselines(services, season):
    start, end = season.day(20), season.day(29)
    report = evaluate(services, start, end, retrain_every_days=5)
    assert [t["through"] for t in report.trainings] == [(start - timedelta(days=1)).isoformat(),
                                                        (start + timedelta(days=4)).isoformat()]
    assert report.scored_rows == 10 * season.players
    names = {(s.system, s.market) for s in report.scores}
    assert names == {(s, m) for s in SYSTEMS + ("baseline_season_average", "baseline_last10_average")
                     for m in MARKETS}
    for score in report.scores:
        assert score.rows == report.scored_rows and score.mae > 0
        assert (score.interval_coverage is None) == score.system.startswith("baseline")
    # the synthetic players are stable: the learned ensemble should beat the last-10 average
    assert report.score("ensemble", "points").mae < report.score("baseline_last10_average", "points").mae
    lines = {s.system: s for s in report.line_scores}
    assert lines["ensemble"].line_share == 0.5                     # every other player has a threes line


def test_evaluation_does_not_touch_the_current_models_and_a_rerun_reuses_its_trainings(services, season):
    from shared.predictions import model_registry
    start, end = season.day(22), season.day(27)
    first = evaluate(services, start, end, retrain_every_days=3)
    assert model_registry.current_versions(services) == {}
    again = evaluate(services, start, end, retrain_every_days=3)
    assert all(t["reused"] for t in again.trainings) and not any(t["reused"] for t in first.trainings)
    assert again.scores == first.scores


def test_line_hit_rates_count_picks_against_the_line_and_leave_pushes_out():
    predicted = np.array([2.4, 0.9, 1.8, 3.0, 1.0, 0.2])
    line = np.array([1.5, 1.5, 1.5, 2.0, np.nan, 0.5])
    actual = np.array([3.0, 2.0, 1.0, 2.0, 4.0, 0.0])   # hit, miss, miss, push, no line, hit
    score = _line_score("x", predicted, actual, line, threshold=0.5)
    assert score.rows_with_line == 5 and score.decided == 4 and score.hit_rate == 0.5
    assert score.disagreeing == 2 and score.disagreeing_hit_rate == 0.5   # 2.4 vs 1.5 (hit), 0.9 vs 1.5 (miss)


def test_the_evaluate_command_prints_the_report_as_json(home, season):
    import json

    from typer.testing import CliRunner

    from shared.cli.app import app
    result = CliRunner().invoke(app, ["--home", str(home), "evaluate", "--start", season.day(24).isoformat(),
                                      "--end", season.day(29).isoformat(), "--skip-backfill", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scored_rows"] == 6 * season.players and len(report["trainings"]) == 1
    assert {s["system"] for s in report["scores"]} >= {"ensemble", "baseline_season_average"}
