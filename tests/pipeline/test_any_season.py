"""Any season: a replay folder of a made-up season, with its own file names (a manifest), run on
a fresh home for one date, fills every table of Phases 2–5; and the date's pre-game rows do not
look at the date's own box scores (the rosters come from the season's other dates)."""
from __future__ import annotations

import pytest

from shared.config import Settings
from shared.pipeline.phase3.tables import UPCOMING_PLAYER_GAME_CONTEXT, UPCOMING_TEAM_GAME_CONTEXT
from shared.pipeline.phase4 import PROCESSORS as PHASE4
from shared.pipeline.runner import Pipeline, RunOptions
from tests.providers.made_up_season import D, write_made_up_season

PRE_GAME_TABLES = {spec.qualified_name for spec in (UPCOMING_PLAYER_GAME_CONTEXT, UPCOMING_TEAM_GAME_CONTEXT,
                                                   *(p.output for p in PHASE4.values()))}


def _run_fresh(tmp_path, name, **change):
    folder = write_made_up_season(tmp_path / f"{name}-data", **change)
    settings = Settings(home=tmp_path / f"{name}-home")
    with Pipeline(settings, RunOptions(source=f"replay:{folder}")) as pipeline:
        return pipeline.run_date(D)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("any-season")
    return _run_fresh(tmp_path, "as-is"), _run_fresh(tmp_path, "changed", box_score_change=(D, 7))


def test_a_fresh_date_of_a_made_up_season_fills_every_table(reports):
    report, _ = reports
    assert report.finished, report.missing
    empty = [t.table for t in report.tables if t.rows == 0]
    assert empty == [], f"empty tables on a fresh date of a made-up season: {empty}"
    assert report.predictions["expected"] == 32 and report.predictions["complete"]  # every rostered player
    assert report.empty_reasons == {} and not report.no_games


def test_the_dates_own_box_scores_do_not_change_its_pre_game_rows(reports):
    as_is, changed = ({t.table: t.checksum for t in r.tables} for r in reports)
    assert as_is["nba_raw.player_boxscores"] != changed["nba_raw.player_boxscores"], "the change reached D's rows"
    assert as_is["nba_analytics.player_game_summary"] != changed["nba_analytics.player_game_summary"]
    assert {t: as_is[t] for t in PRE_GAME_TABLES} == {t: changed[t] for t in PRE_GAME_TABLES}
