"""Phase 3 processors on a tiny hand-made warehouse, and the phase3_analytics handler."""
from __future__ import annotations

from datetime import date

import pytest

from shared.contracts.envelope import Envelope
from shared.contracts.messages import AnalyticsCompleted, AnalyticsTrigger
from shared.pipeline.phase3 import PROCESSORS, handle_analytics_trigger
from shared.pipeline.phase3.tables import (
    PLAYER_GAME_SUMMARY,
    TEAM_DEFENSE_GAME_SUMMARY,
    TEAM_OFFENSE_GAME_SUMMARY,
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
)
from shared.pipeline.processor import DataQualityError
from shared.runtime.context import FunctionContext
from shared.runtime.errors import PermanentError
from shared.topology import TOPOLOGY
from tests.pipeline.raw_fixtures import (
    RawDay,
    Runner,
    local_services,
    player_id,
    player_row,
    registry_rows,
    schedule_row,
    team_row,
)

DAY1, DAY2 = date(2025, 1, 10), date(2025, 1, 11)
BOS_BOX = {"minutes": 240, "points": 110, "fgm": 40, "fga": 85, "fg3m": 12, "fg3a": 35, "ftm": 18, "fta": 22, "oreb": 10, "dreb": 35,
               "reb": 45, "ast": 25, "stl": 7, "blk": 5, "tov": 13, "pf": 20}
LAL_BOX = {"minutes": 240, "points": 100, "fgm": 38, "fga": 90, "fg3m": 10, "fg3a": 30, "ftm": 14, "fta": 20, "oreb": 12, "dreb": 33,
               "reb": 45, "ast": 22, "stl": 8, "blk": 4, "tov": 15, "pf": 19}
STAR = {"minutes": 36.0, "points": 30, "rebounds": 8, "assists": 5, "steals": 1, "blocks": 0, "turnovers": 3,
            "fgm": 10, "fga": 20, "fg3m": 4, "fg3a": 9, "ftm": 6, "fta": 10}
BENCH = {"minutes": 0.0, "points": 0, "rebounds": 0, "assists": 0, "steals": 0, "blocks": 0, "turnovers": 0,
             "fgm": 0, "fga": 0, "fg3m": 0, "fg3a": 0, "ftm": 0, "fta": 0}


def day1() -> RawDay:
    raw = RawDay(DAY1)
    raw.rows["schedule"] = [schedule_row(DAY1, "G1", "BOS", "LAL")]
    raw.rows["team_boxscores"] = [team_row(DAY1, "G1", "BOS", "LAL", True, True, **BOS_BOX),
                                  team_row(DAY1, "G1", "LAL", "BOS", False, False, **LAL_BOX)]
    raw.rows["player_boxscores"] = [
        player_row(DAY1, "G1", player_id("BOS", 0), "BOS", "LAL", True, True, **STAR),
        player_row(DAY1, "G1", player_id("BOS", 1), "BOS", "LAL", True, True, **BENCH),
        player_row(DAY1, "G1", player_id("LAL", 0), "LAL", "BOS", False, False, **{**STAR, "points": 20}),
    ]
    raw.rows["player_registry"] = registry_rows(DAY1, teams=("BOS",), players_per_team=2)
    return raw


def day2() -> RawDay:
    """BOS at NYK (BOS on a back-to-back, NYK without history), MIA hosts LAL (LAL missing
    from the registry: its roster comes from history)."""
    raw = RawDay(DAY2)
    raw.rows["schedule"] = [schedule_row(DAY2, "G2", "NYK", "BOS"), schedule_row(DAY2, "G3", "MIA", "LAL")]
    registry = registry_rows(DAY2, teams=("BOS",), players_per_team=3)
    registry[2]["is_active"] = False
    raw.rows["player_registry"] = registry
    star = player_id("BOS", 0)
    raw.rows["prop_lines"] = [
        {"game_date": DAY2, "player_name": "Player", "player_id": star, "game": "BOS @ NYK",
         "game_time_utc": raw.rows["schedule"][0]["start_time_utc"], "market": "player_points", "line": line,
         "bookmaker": book, "over_odds": -110, "under_odds": -110}
        for line, book in ((27.5, "a"), (28.5, "b"))]
    return raw


@pytest.fixture
def runner(tmp_path):
    services = local_services(tmp_path)
    yield Runner(services)
    services.close()


@pytest.fixture
def two_days(runner):
    for raw in (day1(), day2()):
        raw.load(runner.services.warehouse)
        runner.run(PROCESSORS, raw.day)
    return runner


def by(rows, *keys):
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def test_player_game_summary_computes_efficiency_usage_and_per_36(two_days):
    rows = by(two_days.rows(PLAYER_GAME_SUMMARY, DAY1), "player_id")
    star = rows[player_id("BOS", 0)]
    assert star["game_id"] == "G1" and star["fg2m"] == 6 and star["fg2a"] == 11
    assert star["ts_pct"] == pytest.approx(0.6148)  # 30 / (2·(20 + 4.4))
    assert star["efg_pct"] == pytest.approx(0.6)  # (10 + 2) / 20
    # 100·(20 + 4.4 + 3)·48 / (36·(85 + 9.68 + 13))
    assert star["usage_rate"] == pytest.approx(33.93)
    assert star["points_per36"] == 30.0 and star["threes_per36"] == 4.0
    bench = rows[player_id("BOS", 1)]
    assert bench["ts_pct"] is None and bench["usage_rate"] is None and bench["points_per36"] is None


def test_team_summaries_share_possessions_and_mirror_each_other(two_days):
    offense = by(two_days.rows(TEAM_OFFENSE_GAME_SUMMARY, DAY1), "team_abbr")
    defense = by(two_days.rows(TEAM_DEFENSE_GAME_SUMMARY, DAY1), "team_abbr")
    # BOS 85 − 10 + 13 + 9.68 = 97.68, LAL 90 − 12 + 15 + 8.8 = 101.8 → 99.74 for both
    assert offense["BOS"]["possessions"] == offense["LAL"]["possessions"] == pytest.approx(99.74)
    assert offense["BOS"]["pace"] == pytest.approx(99.74)
    assert offense["BOS"]["offensive_rating"] == pytest.approx(110.29)
    assert defense["BOS"]["defensive_rating"] == pytest.approx(100.26)
    assert defense["BOS"]["defensive_rating"] == offense["LAL"]["offensive_rating"]
    assert offense["BOS"]["oreb_pct"] == pytest.approx(10 / 43, abs=1e-4)
    assert defense["LAL"]["dreb_pct"] == pytest.approx(33 / 43, abs=1e-4)
    bos = offense["BOS"]  # of 110 points: 36 from threes, 56 from twos, 18 from free throws
    assert (bos["three_point_share"], bos["two_point_share"], bos["free_throw_share"]) == \
        (pytest.approx(36 / 110, abs=1e-4), pytest.approx(56 / 110, abs=1e-4), pytest.approx(18 / 110, abs=1e-4))
    assert defense["BOS"]["points_allowed"] == 100 and defense["BOS"]["opp_fg3a"] == 30


def test_upcoming_team_context_rest_record_and_opponent(two_days):
    rows = by(two_days.rows(UPCOMING_TEAM_GAME_CONTEXT, DAY2), "team_abbr")
    assert set(rows) == {"BOS", "NYK", "LAL", "MIA"}
    bos = rows["BOS"]
    assert (bos["is_home"], bos["opponent_abbr"], bos["games_played"]) == (False, "NYK", 1)
    assert bos["days_rest"] == 1 and bos["is_back_to_back"] is True and bos["games_last_7_days"] == 1
    assert bos["win_pct"] == 1.0 and bos["offensive_rating"] == pytest.approx(110.29)
    assert bos["net_rating"] == pytest.approx(110.29 - 100.26, abs=0.01)
    assert bos["avg_margin_last10"] == 10.0
    assert bos["opponent_win_pct"] is None and bos["opponent_days_rest"] is None and bos["rest_advantage"] is None
    nyk = rows["NYK"]
    assert nyk["games_played"] == 0 and nyk["days_rest"] is None and nyk["is_back_to_back"] is False
    assert nyk["opponent_win_pct"] == 1.0 and nyk["opponent_defensive_rating"] == pytest.approx(100.26)
    assert rows["MIA"]["opponent_win_pct"] == 0.0


def test_upcoming_player_context_roster_rest_and_lines(two_days):
    rows = by(two_days.rows(UPCOMING_PLAYER_GAME_CONTEXT, DAY2), "player_id")
    # BOS from the registry (the inactive third player left out); LAL from history; NYK/MIA nobody
    assert set(rows) == {player_id("BOS", 0), player_id("BOS", 1), player_id("LAL", 0)}
    star = rows[player_id("BOS", 0)]
    assert star["roster_source"] == "registry" and star["game_id"] == "G2" and star["opponent_abbr"] == "NYK"
    assert star["days_rest"] == 1 and star["is_back_to_back"] and star["games_played"] == 1
    assert star["points_avg_last5"] == 30.0 and star["minutes_avg_last5"] == 36.0
    assert star["points_line"] == 28.0 and star["prop_bookmakers"] == 2 and star["rebounds_line"] is None
    assert star["team_pace"] == pytest.approx(99.74) and star["opponent_defensive_rating"] is None
    laker = rows[player_id("LAL", 0)]
    assert laker["roster_source"] == "history" and laker["opponent_abbr"] == "MIA" and laker["prop_bookmakers"] == 0


def injury_row(day, team: str, slot: int, status: str) -> dict:
    pid = player_id(team, slot)
    return {"game_date": day, "player_id": pid, "player_name": f"Player {pid}", "team_abbr": team,
            "status": status, "reason": "knee"}


def test_players_reported_out_are_not_expected_in_phase3_or_phase4(runner):
    """The registry star of BOS and the history-rostered Laker are reported out on DAY2: neither
    is expected (no upcoming row, no Phase 4 row); the questionable BOS bench player still is.
    An out listing of another date changes nothing on DAY2."""
    from shared.pipeline.phase4 import PROCESSORS as PHASE4
    raw1, raw2 = day1(), day2()
    raw1.rows["injury_report"] = [injury_row(DAY1, "BOS", 1, "out")]
    raw2.rows["injury_report"] = [injury_row(DAY2, "BOS", 0, "out"), injury_row(DAY2, "LAL", 0, "out"),
                                  injury_row(DAY2, "BOS", 1, "questionable")]
    for raw in (raw1, raw2):
        raw.load(runner.services.warehouse)
        runner.run(PROCESSORS, raw.day)
        runner.run(PHASE4, raw.day)
    assert set(by(runner.rows(UPCOMING_PLAYER_GAME_CONTEXT, DAY2), "player_id")) == {player_id("BOS", 1)}
    for processor in PHASE4.values():
        if "player_id" in {f.name for f in processor.output.fields}:
            players = {row["player_id"] for row in runner.rows(processor.output, DAY2)}
            assert players <= {player_id("BOS", 1)}, f"{processor.name} has players reported out: {players}"


def test_a_single_date_on_an_empty_warehouse_fills_every_table(runner):
    day2().load(runner.services.warehouse)
    records = runner.run(PROCESSORS, DAY2)
    assert records["upcoming_team_game_context"] == 4
    assert records["upcoming_player_game_context"] == 2  # BOS registry players, no history anywhere
    assert records["player_game_summary"] == 0  # no box scores loaded for DAY2
    bos = by(runner.rows(UPCOMING_PLAYER_GAME_CONTEXT, DAY2), "player_id")[player_id("BOS", 0)]
    assert bos["games_played"] == 0 and bos["days_rest"] is None and bos["points_avg_season"] is None


def test_rerunning_a_date_gives_the_same_partitions(two_days):
    before = {spec.name: two_days.rows(spec, DAY2) for spec in (p.output for p in PROCESSORS.values())}
    two_days.rerun(PROCESSORS, DAY2)
    after = {spec.name: two_days.rows(spec, DAY2) for spec in (p.output for p in PROCESSORS.values())}
    assert after == before and before["upcoming_player_game_context"]


def test_duplicate_player_rows_are_a_data_quality_error(runner):
    raw = day1()
    raw.rows["player_boxscores"].append(dict(raw.rows["player_boxscores"][0]))
    raw.load(runner.services.warehouse)
    with pytest.raises(DataQualityError, match="duplicate"):
        runner.run(PROCESSORS, DAY1, ("player_game_summary",))


def test_completions_name_the_processor_and_count_records(two_days):
    completions = [m for topic, m in two_days.published if topic == "phase3-analytics-complete"]
    assert {(m.processor_name, m.analysis_date) for m in completions} == \
        {(name, day) for name in PROCESSORS for day in (DAY1, DAY2)}
    assert all(isinstance(m, AnalyticsCompleted) and m.success for m in completions)


# ---- the phase3_analytics handler --------------------------------------------------------------

def handler_context(services) -> FunctionContext:
    envelope = Envelope(message_type="AnalyticsTrigger", schema_version=1, run_id="orchestrator",
                        correlation_id="corr-3", payload={})
    return FunctionContext(function=TOPOLOGY.function("phase3_analytics"), envelope=envelope,
                           delivery_attempt=1, services=services)


def trigger(*names: str, day: date = DAY1) -> AnalyticsTrigger:
    return AnalyticsTrigger(analysis_date=day, processor_names=names, triggered_by="test", claim_id="c1")


def test_handler_runs_the_named_processors_and_publishes_their_completions(runner):
    services = runner.services
    services.bus.create_topic("phase3-analytics-complete")
    from shared.topology.model import SubscriptionSpec
    services.bus.create_subscription(SubscriptionSpec(name="inspect", topic="phase3-analytics-complete",
                                                      dead_letter_topic=None))
    day1().load(services.warehouse)
    outcomes = handle_analytics_trigger(trigger("team_offense_game_summary", "player_game_summary"),
                                        handler_context(services))
    assert [(o.processor, o.status, o.records) for o in outcomes] == [
        ("team_offense_game_summary", "succeeded", 2), ("player_game_summary", "succeeded", 3)]
    from shared.contracts.codec import decode
    received = [decode(m.data).message for m in services.bus.pull("inspect", max_messages=10, timeout=0.1)]
    assert sorted(m.processor_name for m in received) == ["player_game_summary", "team_offense_game_summary"]
    # A redelivery of the same claim's trigger: consumed once already, nothing happens at all.
    assert handle_analytics_trigger(trigger("player_game_summary"), handler_context(services)) == []
    # Another claim on the same inputs: the run key matches, so it skips and announces again.
    other_claim = trigger("player_game_summary").model_copy(update={"claim_id": "c2"})
    again = handle_analytics_trigger(other_claim, handler_context(services))
    assert again[0].status == "skipped"


def test_handler_refuses_an_unknown_processor(runner):
    with pytest.raises(PermanentError, match="unknown processor"):
        handle_analytics_trigger(trigger("player_game_summary", "made_up"), handler_context(runner.services))
