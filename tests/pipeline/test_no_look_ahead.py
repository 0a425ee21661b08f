"""No look-ahead: the upcoming contexts and every Phase 4 row for D are built only from games
before D (and the registry as of D at the latest). Changing a game on D or after D, or the
registry after D, must leave them unchanged; changing a game before D must change them (so
the test can catch a leak, and is not vacuous)."""
from __future__ import annotations

from datetime import date

import pytest

from shared.pipeline.phase3 import PROCESSORS as PHASE3
from shared.pipeline.phase3.tables import (
    UPCOMING_PLAYER_GAME_CONTEXT,
    UPCOMING_TEAM_GAME_CONTEXT,
)
from shared.pipeline.phase4 import PROCESSORS as PHASE4
from tests.pipeline.raw_fixtures import (
    RawDay,
    Runner,
    SyntheticLeague,
    days,
    local_services,
)

DATES = days(date(2025, 3, 1), 6)
D = DATES[4]
PRE_GAME_TABLES = (UPCOMING_PLAYER_GAME_CONTEXT, UPCOMING_TEAM_GAME_CONTEXT,
                   *(p.output for p in PHASE4.values()))


@pytest.fixture
def league(tmp_path):
    runner = Runner(local_services(tmp_path))
    generator = SyntheticLeague(seed=11, games_per_day=6, players_per_team=9)
    raw_days = {day: generator.day(day) for day in DATES}
    for day in DATES:  # D and the day after it are processed too: a leak would see them
        raw_days[day].load(runner.services.warehouse)
        runner.run(PHASE3, day)
        runner.run(PHASE4, day)
    yield runner, raw_days
    runner.services.close()


def pre_game_rows(runner: Runner) -> dict[str, list[dict]]:
    return {spec.name: runner.rows(spec, D) for spec in PRE_GAME_TABLES}


def inflate_scoring(raw: RawDay) -> None:
    """Every player and team of the day scores 25 more points from 10 more made twos."""
    for row in raw.rows["player_boxscores"]:
        row.update(points=row["points"] + 20, fgm=row["fgm"] + 10, fga=row["fga"] + 10)
    for row in raw.rows["team_boxscores"]:
        row.update(points=row["points"] + 20 * 9, fgm=row["fgm"] + 90, fga=row["fga"] + 90)


def retire_everyone(raw: RawDay) -> None:
    """A later registry in which nobody is active: read by mistake, it would empty D's rosters."""
    for row in raw.rows["player_registry"]:
        row["is_active"] = False


def reprocess(runner: Runner, raw: RawDay) -> None:
    raw.load(runner.services.warehouse)
    runner.rerun(PHASE3, raw.day)


def recompute_d(runner: Runner) -> None:
    runner.rerun(PHASE3, D, ("upcoming_player_game_context", "upcoming_team_game_context"))
    runner.rerun(PHASE4, D)


def test_games_on_or_after_d_do_not_change_d_pre_game_rows(league):
    runner, raw_days = league
    before = pre_game_rows(runner)
    assert all(before.values())
    for day in (D, DATES[5]):
        inflate_scoring(raw_days[day])
    retire_everyone(raw_days[DATES[5]])
    for day in (D, DATES[5]):
        reprocess(runner, raw_days[day])
    recompute_d(runner)
    assert pre_game_rows(runner) == before


def test_a_game_before_d_changes_d_pre_game_rows(league):
    runner, raw_days = league
    before = pre_game_rows(runner)
    inflate_scoring(raw_days[DATES[3]])
    reprocess(runner, raw_days[DATES[3]])
    recompute_d(runner)
    after = pre_game_rows(runner)
    changed = [name for name in before if after[name] != before[name]]
    # The team context only reads team results, which the change alters too.
    assert set(changed) == {spec.name for spec in PRE_GAME_TABLES}
