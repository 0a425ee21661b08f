"""Any season: a replay folder of a made-up season, with its own file names (a manifest), run on
a fresh home for one date, fills every table of Phases 2–5; and the date's pre-game rows do not
look at the date's own box scores (the rosters and the injury report come from the season's
other dates). A player who missed his team's last three games is reported out and not expected;
whether he plays on D (he does in one folder, not in the other) changes nothing before tip-off."""
from __future__ import annotations

import pytest

from shared.config import Settings
from shared.pipeline.phase2.tables import INJURY_REPORT, PLAYER_REGISTRY
from shared.pipeline.phase3.tables import UPCOMING_PLAYER_GAME_CONTEXT, UPCOMING_TEAM_GAME_CONTEXT
from shared.pipeline.phase4 import PROCESSORS as PHASE4
from shared.pipeline.runner import Pipeline, RunOptions
from tests.providers.made_up_season import DAYS, D, person_id, player_name, write_made_up_season

PRE_GAME_TABLES = {spec.qualified_name for spec in (UPCOMING_PLAYER_GAME_CONTEXT, UPCOMING_TEAM_GAME_CONTEXT,
                                                   *(p.output for p in PHASE4.values()))}
# Raw pre-game tables: their rows name the payload (whose bytes name the folder), so compared without it.
PRE_GAME_RAW_TABLES = (INJURY_REPORT, PLAYER_REGISTRY)
OUT_PLAYER = player_name("NYK", 1)  # misses the three game days before D: reported out on D
QUESTIONABLE_PLAYER = player_name("LAL", 2)  # misses the last game day before D: questionable, expected
ABSENCES = {OUT_PLAYER: tuple(DAYS[:3]), QUESTIONABLE_PLAYER: (DAYS[2],)}


def _run_fresh(tmp_path, name, **change):
    folder = write_made_up_season(tmp_path / f"{name}-data", **change)
    settings = Settings(home=tmp_path / f"{name}-home")
    with Pipeline(settings, RunOptions(source=f"replay:{folder}")) as pipeline:
        report = pipeline.run_date(D)
        warehouse = pipeline.services.warehouse
        expected = warehouse.query(f"SELECT DISTINCT player_id FROM {UPCOMING_PLAYER_GAME_CONTEXT.qualified_name} "
                                   "WHERE game_date = @d", {"d": D})
        raw = {spec.name: _without_provenance(warehouse, spec) for spec in PRE_GAME_RAW_TABLES}
        return report, {row["player_id"] for row in expected}, raw


def _without_provenance(warehouse, spec) -> list[dict]:
    columns = [f.name for f in spec.fields if f.name not in ("source", "payload_sha256")]
    return warehouse.query(f"SELECT {', '.join(columns)} FROM {spec.qualified_name} "
                           f"WHERE {spec.partition_field} = @d ORDER BY {', '.join(columns)}", {"d": D})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The out player returns on D in the first folder; in the second he sits D out too, and
    every other box score of D changes."""
    tmp_path = tmp_path_factory.mktemp("any-season")
    return (_run_fresh(tmp_path, "as-is", absences=ABSENCES),
            _run_fresh(tmp_path, "changed", box_score_change=(D, 7), absences={**ABSENCES, OUT_PLAYER: DAYS[:4]}))


@pytest.fixture(scope="module")
def reports(runs):
    return tuple(report for report, _, _ in runs)


def test_a_fresh_date_of_a_made_up_season_fills_every_table(reports):
    report, _ = reports
    assert report.finished, report.missing
    empty = [t.table for t in report.tables if t.rows == 0]
    assert empty == [], f"empty tables on a fresh date of a made-up season: {empty}"
    # every rostered player but the one reported out
    assert report.predictions["expected"] == 31 and report.predictions["complete"]
    assert report.empty_reasons == {} and not report.no_games


def test_the_dates_own_box_scores_do_not_change_its_pre_game_rows(reports):
    as_is, changed = ({t.table: t.checksum for t in r.tables} for r in reports)
    assert as_is["nba_raw.player_boxscores"] != changed["nba_raw.player_boxscores"], "the change reached D's rows"
    assert as_is["nba_analytics.player_game_summary"] != changed["nba_analytics.player_game_summary"]
    assert {t: as_is[t] for t in PRE_GAME_TABLES} == {t: changed[t] for t in PRE_GAME_TABLES}


def test_the_dates_own_box_scores_do_not_change_its_injury_report_or_registry(runs):
    (_, _, as_is), (_, _, changed) = runs
    assert as_is == changed
    assert [(r["player_id"], r["status"]) for r in as_is["injury_report"]] == [
        (person_id("NYK", 1), "out"), (person_id("LAL", 2), "questionable")]


def test_a_player_reported_out_on_d_is_not_expected_on_d(runs):
    for _, expected, _ in runs:
        assert person_id("NYK", 1) not in expected, "reported out, yet expected to play"
        assert person_id("LAL", 2) in expected, "questionable players are still expected"
        assert len(expected) == 31
