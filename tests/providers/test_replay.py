import csv
from collections import Counter
from datetime import date

import pytest

from shared.providers import teams
from shared.providers.payloads import SCRAPERS
from shared.providers.replay import PLAYER_BOX_SCORES, PLAYER_GAME_LOGS, TEAM_GAME_LOGS, ReplayDataMissing, ReplaySource

DAY = date(2025, 1, 15)


@pytest.fixture(scope="module")
def source(data_dir) -> ReplaySource:
    return ReplaySource(data_dir)


def _csv(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_schedule_of_2025_01_15_is_the_team_logs_games(source, data_dir):
    logs = [r for r in _csv(data_dir / TEAM_GAME_LOGS) if r["GAME_DATE"] == DAY.isoformat()]
    schedule = source.schedule(DAY)
    assert len(schedule.games) == len(logs) // 2 == 11
    assert schedule.source == f"replay:{data_dir}" and schedule.as_of == DAY
    for game in schedule.games:
        home = next(r for r in logs if r["GAME_ID"] == game.game_id and "vs." in r["MATCHUP"])
        away = next(r for r in logs if r["GAME_ID"] == game.game_id and "@" in r["MATCHUP"])
        assert (game.home_team_abbr, game.home_team_id) == (home["TEAM_ABBREVIATION"], int(home["TEAM_ID"]))
        assert (game.away_team_abbr, game.away_team_id) == (away["TEAM_ABBREVIATION"], int(away["TEAM_ID"]))
        assert game.season_type == "regular"


def test_team_box_scores_are_the_logs_rows(source, data_dir):
    logs = {(r["GAME_ID"], r["TEAM_ABBREVIATION"]): r for r in _csv(data_dir / TEAM_GAME_LOGS)
            if r["GAME_DATE"] == DAY.isoformat()}
    rows = source.team_boxscores(DAY).rows
    assert len(rows) == len(logs) == 22
    for row in rows:
        log = logs[(row.game_id, row.team_abbr)]
        assert (row.points, row.fgm, row.fga, row.fg3m, row.reb, row.minutes) == tuple(
            int(log[c]) for c in ("PTS", "FGM", "FGA", "FG3M", "REB", "MIN"))
        assert row.won == (log["WL"] == "W") and row.plus_minus == float(log["PLUS_MINUS"])


def test_player_box_scores_match_the_csv(source, data_dir):
    csv_rows = [r for r in _csv(data_dir / PLAYER_BOX_SCORES) if r["gameDate"] == DAY.isoformat()]
    rows = source.player_boxscores(DAY).rows
    assert len(rows) == len(csv_rows) > 0
    expected = Counter((r["firstName"], teams.by_nickname(r["playerteamName"]).abbr, int(r["PTS"]), int(r["3PM"]),
                        float(r["MP"])) for r in csv_rows)
    assert Counter((r.player_name, r.team_abbr, r.points, r.fg3m, r.minutes) for r in rows) == expected
    team_points = {(t.team_abbr): t.points for t in source.team_boxscores(DAY).rows}
    for abbr, points in team_points.items():
        assert sum(r.points for r in rows if r.team_abbr == abbr) == points


def test_trail_blazers_two_word_nickname(source):
    portland_day = next(d for d in source.game_days()
                        if any("POR" in (g.home_team_abbr, g.away_team_abbr) for g in source.schedule(d).games))
    assert any(r.team_abbr == "POR" for r in source.player_boxscores(portland_day).rows)


def test_registry_has_every_person_and_the_logged_players_team_from_other_dates(source, data_dir):
    """Team as of D: the latest game strictly before D, else (not played yet) the first after D."""
    registry = source.player_registry(DAY)
    assert len(registry.players) == 5198
    assert len({p.person_id for p in registry.players}) == 5198
    logs = _csv(data_dir / PLAYER_GAME_LOGS)
    before: dict[int, tuple[str, str]] = {}
    after: dict[int, tuple[str, str]] = {}
    for r in logs:
        pid, played = int(r["player_id"]), (r["date"], r["matchup"][:3])
        if r["date"] < DAY.isoformat():
            before[pid] = max(before.get(pid, ("", "")), played)
        elif "2025-04-13" >= r["date"] > DAY.isoformat():
            after[pid] = min(after.get(pid, ("9999", "")), played)
    expected = {pid: team for pid, (_, team) in after.items()} | {pid: team for pid, (_, team) in before.items()}
    teams_of = {p.person_id: p.team_abbr for p in registry.players}
    assert {pid: teams_of[pid] for pid in expected} == expected
    assert all(p.is_active for p in registry.players if p.team_abbr), "a rostered person is active on D"
    opening = source.player_registry(date(2024, 10, 22))
    assert sum(1 for p in opening.players if p.team_abbr) > 400, "opening night's rosters: the first games after"


def test_registry_without_id_logs_comes_from_box_scores_of_other_dates(source):
    """People missing from the id-bearing logs get a team from the box scores by their unique name."""
    registry = {p.person_id: p for p in source.player_registry(DAY).players}
    logged = set(source._team_history) - _box_score_only(source)
    box_only = [p for pid, p in registry.items() if p.team_abbr and pid not in logged]
    assert box_only, "the box scores add players the id-bearing logs do not have"


def _box_score_only(source) -> set[int]:
    return set(source._unique_person_of_name().values()) - {
        int(r["player_id"]) for path in source.layout.files["player_game_logs"] for r in _csv(path)}


def test_prop_lines_of_a_november_day(source):
    props = source.prop_lines(date(2024, 11, 15))
    assert props.rows and {r.market for r in props.rows} == {"player_threes"}
    assert all(" @ " in r.game and r.game_time_utc.tzinfo is not None for r in props.rows)
    assert source.prop_lines(DAY).rows == (), "the prop file covers Oct-Nov 2024 only"


def test_neutral_site_cup_final_has_a_home_team(source):
    final = source.schedule(date(2024, 12, 17)).games
    assert [(g.season_type, g.home_team_abbr, g.away_team_abbr) for g in final] == [("cup_final", "OKC", "MIL")]
    rows = source.team_boxscores(date(2024, 12, 17)).rows
    assert sorted(r.is_home for r in rows) == [False, True]


def test_the_whole_season_is_there(source):
    days = source.game_days()
    assert (days[0], days[-1]) == (date(2024, 10, 22), date(2025, 4, 13))
    assert sum(len(source.schedule(d).games) for d in days) == 1231  # 1,230 + the Cup final


def test_every_scraper_and_missing_data(source, tmp_path):
    for scraper in SCRAPERS:
        assert source.payload(scraper, DAY).as_of == DAY
    with pytest.raises(ReplayDataMissing):
        ReplaySource(tmp_path / "absent")
    with pytest.raises(ReplayDataMissing, match="team_game_logs_"):
        ReplaySource(tmp_path)
