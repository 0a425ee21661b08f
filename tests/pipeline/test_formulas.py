"""The basketball formulas against values computed by hand."""
from datetime import date

import pytest

from shared.pipeline import formulas as f


def test_possessions_counts_free_throw_trips_at_044():
    # 88 − 10 + 14 + 0.44·25 = 103
    assert f.possessions(fga=88, oreb=10, tov=14, fta=25) == pytest.approx(103.0)


def test_game_possessions_average_both_teams():
    assert f.game_possessions(100.0, 104.0) == 102.0


def test_pace_is_possessions_per_48_minutes():
    assert f.pace(100.0, 240) == pytest.approx(100.0)
    assert f.pace(110.0, 265) == pytest.approx(48 * 110 / 53)  # one overtime


def test_ratings_are_per_100_possessions():
    assert f.offensive_rating(112, 100.0) == pytest.approx(112.0)
    assert f.defensive_rating(99, 90.0) == pytest.approx(110.0)
    assert f.offensive_rating(100, 0) is None


def test_true_shooting():
    # 30 / (2·(20 + 0.44·10)) = 30 / 48.8
    assert f.true_shooting_pct(30, 20, 10) == pytest.approx(0.6147541)
    assert f.true_shooting_pct(0, 0, 0) is None


def test_effective_field_goal_weights_threes_by_half():
    assert f.effective_fg_pct(fgm=10, fg3m=4, fga=20) == pytest.approx(0.6)


def test_usage_rate_basketball_reference_definition():
    # 100·(15 + 0.44·6 + 3)·(240/5) / (36·(85 + 0.44·22 + 13)) = 100·20.64·48 / (36·107.68)
    assert f.usage_rate(15, 6, 3, 36, 85, 22, 13, 240) == pytest.approx(25.5572065, rel=1e-6)
    assert f.usage_rate(1, 0, 0, 0, 85, 22, 13, 240) is None


def test_per_36_and_rates():
    assert f.per_36(20, 30) == pytest.approx(24.0)
    assert f.per_36(5, 0) is None
    assert f.turnover_pct(10, 80, 25) == pytest.approx(10 / 101)
    assert f.offensive_rebound_pct(10, 30) == 0.25
    assert f.free_throw_rate(20, 80) == 0.25
    assert f.three_point_attempt_rate(30, 80) == 0.375


def test_shot_zone_points_add_up_to_points():
    zones = f.shot_zone_points(fgm=10, fg3m=3, ftm=5)
    assert zones == {"three": 9, "two": 14, "free_throw": 5}
    assert sum(zones.values()) == 28


def test_helpers():
    assert f.rounded(1 / 3) == 0.3333
    assert f.rounded(None) is None
    assert f.mean([1, None, 3]) == 2
    assert f.mean([None]) is None
    assert f.clamp(5, -3, 3) == 3
    assert f.win_pct(3, 4) == 0.75
    assert f.win_pct(0, 0) is None


@pytest.mark.parametrize("day,start", [(date(2025, 1, 15), date(2024, 8, 1)),
                                       (date(2024, 10, 22), date(2024, 8, 1)),
                                       (date(2025, 6, 22), date(2024, 8, 1)),
                                       (date(2025, 8, 1), date(2025, 8, 1))])
def test_season_start(day, start):
    assert f.season_start(day) == start
