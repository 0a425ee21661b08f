"""Phase 4 processors on the hand-made two days of test_phase3, a synthetic league, and the
phase4_precompute handler."""
from __future__ import annotations

from datetime import date

import pytest

from shared.contracts.envelope import Envelope
from shared.contracts.messages import PrecomputeProcessorCompleted, PrecomputeTrigger
from shared.pipeline.phase3 import PROCESSORS as PHASE3
from shared.pipeline.phase3.tables import UPCOMING_PLAYER_GAME_CONTEXT
from shared.pipeline.phase4 import PROCESSORS, handle_precompute_trigger
from shared.pipeline.phase4.features import (
    FEATURE_NAMES,
    FEATURE_VERSION,
    feature_vector,
)
from shared.pipeline.phase4.tables import (
    ML_FEATURE_STORE_V2,
    PLAYER_COMPOSITE_FACTORS,
    PLAYER_DAILY_CACHE,
    PLAYER_SHOT_ZONE_ANALYSIS,
    TEAM_DEFENSE_ZONE_ANALYSIS,
)
from shared.runtime.context import FunctionContext
from shared.runtime.errors import PermanentError
from shared.topology import TOPOLOGY
from shared.topology.definition import PHASE4_GRAPH
from tests.pipeline.raw_fixtures import (
    Runner,
    SyntheticLeague,
    days,
    local_services,
    player_id,
)
from tests.pipeline.test_phase3 import DAY1, DAY2, by, day1, day2

STAR = player_id("BOS", 0)


@pytest.fixture
def runner(tmp_path):
    services = local_services(tmp_path)
    yield Runner(services)
    services.close()


@pytest.fixture
def two_days(runner):
    for raw in (day1(), day2()):
        raw.load(runner.services.warehouse)
        runner.run(PHASE3, raw.day)
        runner.run(PROCESSORS, raw.day)
    return runner


def test_registry_matches_the_topology_graph():
    assert list(PROCESSORS) == list(PHASE4_GRAPH)


def test_team_defense_zones_against_the_league(two_days):
    rows = by(two_days.rows(TEAM_DEFENSE_ZONE_ANALYSIS, DAY2), "team_abbr")
    assert set(rows) == {"BOS", "NYK", "LAL", "MIA"}
    bos = rows["BOS"]
    assert bos["games_in_sample"] == 1 and bos["defensive_rating"] == pytest.approx(100.26)
    # LAL made 10 threes in 99.74 possessions: 30.08 per 100; league (both games) 66 in 199.48
    assert bos["three_points_per100"] == pytest.approx(30.08)
    assert bos["three_vs_league"] == pytest.approx((30 / 99.74) / (66 / 199.48) - 1, abs=1e-4)
    assert bos["three_pct_allowed"] == pytest.approx(10 / 30, abs=1e-4)
    # twos: 56 of the league's 112 → 0; free throws: 14 of 32 → −0.125
    assert bos["two_vs_league"] == 0.0 and bos["free_throw_vs_league"] == pytest.approx(-0.125, abs=1e-3)
    assert (bos["weakest_zone"], bos["strongest_zone"]) == ("two", "free_throw")
    nyk = rows["NYK"]
    assert nyk["games_in_sample"] == 0 and nyk["three_vs_league"] is None and nyk["weakest_zone"] is None


def test_player_shot_zones_and_daily_cache(two_days):
    zones = by(two_days.rows(PLAYER_SHOT_ZONE_ANALYSIS, DAY2), "player_id")
    star = zones[STAR]
    assert (star["three_points_share"], star["two_points_share"], star["free_throw_points_share"]) == (0.4, 0.4, 0.2)
    assert star["three_attempts_per36"] == 9.0 and star["two_pct"] == pytest.approx(6 / 11, abs=1e-4)
    assert star["primary_zone"] == "two"  # tie with three broken by name, deterministically
    assert zones[player_id("BOS", 1)]["primary_zone"] is None  # scored nothing
    cache = by(two_days.rows(PLAYER_DAILY_CACHE, DAY2), "player_id")[STAR]
    assert cache["games_played"] == 1 and cache["days_since_last_game"] == 1 and cache["game_id"] == "G2"
    assert cache["points_avg_last5"] == cache["points_avg_season"] == 30.0
    assert cache["points_std_last10"] is None  # one game has no spread
    assert cache["ts_pct_season"] == pytest.approx(0.6148) and cache["usage_rate_season"] == pytest.approx(33.93)


def test_composite_factors(two_days):
    star = by(two_days.rows(PLAYER_COMPOSITE_FACTORS, DAY2), "player_id")[STAR]
    assert star["fatigue_factor"] == pytest.approx(1 - 0.2 - 0.01 * 4)  # back-to-back, 36 minutes
    assert star["minutes_trend"] == 0.0 and star["usage_trend"] == 0.0
    assert star["form_factor"] is None  # no spread yet
    assert star["pace_factor"] is None and star["opponent_strength_factor"] is None  # NYK has no history
    assert star["factors_available"] == 3
    laker = by(two_days.rows(PLAYER_COMPOSITE_FACTORS, DAY2), "player_id")[player_id("LAL", 0)]
    assert laker["opponent_strength_factor"] is None  # MIA has no history either


def test_feature_store_rows_are_fixed_order_vectors(two_days):
    rows = two_days.rows(ML_FEATURE_STORE_V2, DAY2)
    assert {r["player_id"] for r in rows} == {STAR, player_id("BOS", 1), player_id("LAL", 0)}
    star = by(rows, "player_id")[STAR]
    assert star["feature_version"] == FEATURE_VERSION and star["feature_count"] == len(FEATURE_NAMES)
    assert star["features"] == feature_vector(star)
    assert star["missing_features"] == sum(v is None for v in star["features"])
    named = dict(zip(FEATURE_NAMES, star["features"]))
    assert named["points_avg_season"] == 30.0 and named["is_back_to_back"] == 1.0 and named["is_home"] == 0.0
    assert named["points_line"] == 28.0 and named["fatigue_factor"] == pytest.approx(0.76)
    assert named["team_pace"] == pytest.approx(99.74) and named["days_rest"] == 1.0


def history_fields(spec) -> list[str]:
    return [field.name for field in spec.fields if field.mode == "NULLABLE"]


def test_first_day_fills_every_table_with_null_history(runner):
    day2().load(runner.services.warehouse)
    runner.run(PHASE3, DAY2)
    records = runner.run(PROCESSORS, DAY2)
    assert records == {"team_defense_zone_analysis": 4, "player_shot_zone_analysis": 2, "player_daily_cache": 2,
                       "player_composite_factors": 2, "ml_feature_store_v2": 2}
    cache = by(runner.rows(PLAYER_DAILY_CACHE, DAY2), "player_id")
    zones = by(runner.rows(PLAYER_SHOT_ZONE_ANALYSIS, DAY2), "player_id")
    assert set(cache) == set(zones) == {STAR, player_id("BOS", 1)}  # the BOS registry roster
    assert (cache[STAR]["team_abbr"], cache[STAR]["game_id"], cache[STAR]["games_played"]) == ("BOS", "G2", 0)
    assert zones[STAR]["games_in_sample"] == 0
    assert {name: cache[STAR][name] for name in history_fields(PLAYER_DAILY_CACHE)} == \
        dict.fromkeys(history_fields(PLAYER_DAILY_CACHE))
    assert {name: zones[STAR][name] for name in history_fields(PLAYER_SHOT_ZONE_ANALYSIS)} == \
        dict.fromkeys(history_fields(PLAYER_SHOT_ZONE_ANALYSIS))
    row = runner.rows(ML_FEATURE_STORE_V2, DAY2)[0]
    assert row["history_games"] == 0 and row["points_avg_season"] is None and row["is_home"] == 0.0


def test_the_history_fields_are_the_nullable_ones():
    assert history_fields(PLAYER_DAILY_CACHE)[:2] == ["last_game_date", "days_since_last_game"]
    assert "games_played" not in history_fields(PLAYER_DAILY_CACHE)
    assert history_fields(PLAYER_SHOT_ZONE_ANALYSIS)[0] == "minutes"
    assert "games_in_sample" not in history_fields(PLAYER_SHOT_ZONE_ANALYSIS)


def test_every_player_table_lists_the_players_phase3_expects(runner):
    """A registry player without history (a debut) next to players with history, and a team the
    registry lacks (its roster from history): level 1 reads neither Phase 3 table, yet names the
    same (player, team, game) as upcoming_player_game_context."""
    day1().load(runner.services.warehouse)
    raw = day2()
    raw.rows["player_registry"][2]["is_active"] = True
    raw.load(runner.services.warehouse)
    for day in (DAY1, DAY2):
        runner.run(PHASE3, day)
        runner.run(PROCESSORS, day)

    def roster(spec):
        return {(r["player_id"], r["team_abbr"], r["game_id"]) for r in runner.rows(spec, DAY2)}

    expected = roster(UPCOMING_PLAYER_GAME_CONTEXT)
    assert expected == {(STAR, "BOS", "G2"), (player_id("BOS", 1), "BOS", "G2"), (player_id("BOS", 2), "BOS", "G2"),
                        (player_id("LAL", 0), "LAL", "G3")}
    for spec in (PLAYER_DAILY_CACHE, PLAYER_SHOT_ZONE_ANALYSIS, PLAYER_COMPOSITE_FACTORS, ML_FEATURE_STORE_V2):
        assert roster(spec) == expected, spec.name
    cache = by(runner.rows(PLAYER_DAILY_CACHE, DAY2), "player_id")
    debut = cache[player_id("BOS", 2)]
    assert debut["games_played"] == 0 and debut["points_avg_season"] is None and debut["last_game_date"] is None
    assert cache[STAR]["games_played"] == 1 and cache[player_id("LAL", 0)]["points_avg_season"] == 20.0
    zones = by(runner.rows(PLAYER_SHOT_ZONE_ANALYSIS, DAY2), "player_id")
    assert zones[player_id("BOS", 2)]["games_in_sample"] == 0 and zones[player_id("BOS", 2)]["primary_zone"] is None
    assert zones[player_id("LAL", 0)]["games_in_sample"] == 1


def test_a_synthetic_league_gives_complete_vectors_once_history_exists(runner):
    league = SyntheticLeague(seed=3, games_per_day=5, players_per_team=10)
    for day in days(date(2025, 2, 1), 8):
        league.day(day).load(runner.services.warehouse)
        runner.run(PHASE3, day)
        runner.run(PROCESSORS, day)
    rows = runner.rows(ML_FEATURE_STORE_V2, date(2025, 2, 8))
    with_history = [r for r in rows if r["history_games"] >= 2]
    assert with_history
    lines = {"points_line", "rebounds_line", "assists_line", "threes_line", "form_factor"}
    for row in with_history:
        assert [n for n, v in zip(FEATURE_NAMES, row["features"]) if v is None and n not in lines] == []


def test_rerunning_phase4_gives_the_same_partitions(two_days):
    before = {p.output.name: two_days.rows(p.output, DAY2) for p in PROCESSORS.values()}
    two_days.rerun(PROCESSORS, DAY2)
    assert {p.output.name: two_days.rows(p.output, DAY2) for p in PROCESSORS.values()} == before


def test_completions(two_days):
    completions = [m for topic, m in two_days.published if topic == "phase4-processor-complete"]
    assert all(isinstance(m, PrecomputeProcessorCompleted) and m.success for m in completions)
    assert {(m.processor_name, m.analysis_date) for m in completions} == \
        {(n, d) for n in PROCESSORS for d in (DAY1, DAY2)}


def handler_context(services) -> FunctionContext:
    envelope = Envelope(message_type="PrecomputeTrigger", schema_version=1, run_id="orchestrator",
                        correlation_id="corr-4", payload={})
    return FunctionContext(function=TOPOLOGY.function("phase4_precompute"), envelope=envelope,
                           delivery_attempt=1, services=services)


def test_handler_runs_a_level_and_refuses_unknown_names(runner):
    services = runner.services
    services.bus.create_topic("phase4-processor-complete")
    day1().load(services.warehouse)
    runner.run(PHASE3, DAY1)
    level1 = PrecomputeTrigger(analysis_date=DAY1, processor_names=tuple(n for n, p in PHASE4_GRAPH.items() if not p),
                               triggered_by="test", claim_id="c")
    outcomes = handle_precompute_trigger(level1, handler_context(services))
    assert [o.status for o in outcomes] == ["succeeded"] * 3
    with pytest.raises(PermanentError, match="unknown processor"):
        handle_precompute_trigger(PrecomputeTrigger(analysis_date=DAY1, processor_names=("nope",),
                                                    triggered_by="test", claim_id="c"), handler_context(services))
