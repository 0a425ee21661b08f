from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.providers import teams
from shared.providers.payloads import SCRAPERS
from shared.providers.synthetic import FIRST_PERSON_ID, SeasonCalendar, SyntheticSource, fold_diacritics

OPENING, FINAL = date(2024, 10, 22), date(2025, 4, 13)
SOURCE = SyntheticSource(seed=0)
season_days = st.dates(min_value=OPENING, max_value=FINAL)


def test_calendar_of_2024_25():
    calendar = SeasonCalendar.of("2024-25")
    assert (calendar.opening_day, calendar.final_day) == (OPENING, FINAL)
    assert {date(2024, 11, 28), date(2024, 12, 24), date(2025, 2, 16)} <= calendar.dark_days
    with pytest.raises(ValueError, match="2024-25"):
        SeasonCalendar.of("2024")


def test_season_schedule_has_82_games_per_team_41_at_home_and_no_team_twice_a_day():
    games = SOURCE.games
    assert len(games) == 1230
    assert len({g.game_id for g in games}) == 1230
    assert min(g.day for g in games) == OPENING and max(g.day for g in games) == FINAL
    appearances = Counter(t.abbr for g in games for t in (g.home, g.away))
    home_games = Counter(g.home.abbr for g in games)
    assert set(appearances.values()) == {82} and set(home_games.values()) == {41}
    played = defaultdict(list)
    for g in games:
        assert g.home != g.away
        assert g.day not in SOURCE.calendar.dark_days
        for team in (g.home, g.away):
            played[team.abbr].append(g.day)
    back_to_backs = 0
    for days in played.values():
        assert len(days) == len(set(days)), "a team plays at most once a day"
        day_set = set(days)
        assert not any(d + timedelta(1) in day_set and d + timedelta(2) in day_set for d in day_set)
        back_to_backs += sum(d + timedelta(1) in day_set for d in day_set)
    assert back_to_backs > 60


def test_same_seed_same_bytes_other_seed_other_season():
    day = date(2025, 1, 15)
    again = SyntheticSource(seed=0)
    for scraper in SCRAPERS:
        assert SOURCE.payload(scraper, day).model_dump_json() == again.payload(scraper, day).model_dump_json()
    other = SyntheticSource(seed=1)
    assert other.payload("player_boxscores", day) != SOURCE.payload("player_boxscores", day)
    assert other.label == "synthetic:1" and SOURCE.label == "synthetic"


def test_a_day_is_the_same_whatever_was_generated_before():
    day = date(2025, 3, 3)
    fresh = SyntheticSource(seed=5)
    first = fresh.player_boxscores(day).model_dump_json()
    warmed = SyntheticSource(seed=5)
    for other in (date(2024, 11, 1), date(2025, 3, 2)):
        warmed.player_boxscores(other)
        warmed.prop_lines(other)
    assert warmed.player_boxscores(day).model_dump_json() == first


@settings(max_examples=40, deadline=None)
@given(day=season_days)
def test_box_scores_add_up(day):
    schedule = SOURCE.schedule(day)
    players, team_rows = SOURCE.player_boxscores(day), SOURCE.team_boxscores(day)
    assert len(team_rows.rows) == 2 * len(schedule.games)
    by_team = defaultdict(list)
    for row in players.rows:
        assert row.game_date == day and row.minutes > 0
        assert row.fgm <= row.fga and row.fg3m <= row.fg3a <= row.fga and row.fg3m <= row.fgm
        assert row.ftm <= row.fta
        assert row.points == 2 * row.fgm + row.fg3m + row.ftm
        by_team[row.team_abbr].append(row)
    by_game = defaultdict(list)
    for team in team_rows.rows:
        by_game[team.game_id].append(team)
        rows = by_team[team.team_abbr]
        assert team.points == sum(r.points for r in rows)
        assert (team.fgm, team.fga, team.fg3m, team.fg3a, team.ftm, team.fta) == tuple(
            sum(getattr(r, f) for r in rows) for f in ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta"))
        assert team.reb == sum(r.rebounds for r in rows) == team.oreb + team.dreb
        assert team.minutes in (240, 265, 290)
        assert round(sum(r.minutes for r in rows), 6) == team.minutes
        assert all(r.opponent_abbr == team.opponent_abbr and r.is_home == team.is_home and r.won == team.won
                   for r in rows)
    for game in schedule.games:
        home, away = sorted(by_game[game.game_id], key=lambda r: not r.is_home)
        assert (home.team_abbr, away.team_abbr) == (game.home_team_abbr, game.away_team_abbr)
        assert home.won != away.won and home.points != away.points
        assert home.plus_minus == -away.plus_minus == home.points - away.points
        assert home.team_id == teams.by_abbr(home.team_abbr).team_id


@settings(max_examples=25, deadline=None)
@given(day=season_days)
def test_registry_and_props_of_a_day(day):
    registry = SOURCE.player_registry(day)
    assert all(p.person_id >= FIRST_PERSON_ID for p in registry.players)
    assert len({p.person_id for p in registry.players}) == len(registry.players)
    active = [p for p in registry.players if p.is_active]
    assert Counter(p.team_abbr for p in active) == {t.abbr: 15 for t in teams.TEAMS}
    assert all(p.team_abbr is None for p in registry.players if not p.is_active)
    props = SOURCE.prop_lines(day)
    playing = {t for g in SOURCE.schedule(day).games for t in (g.home_team_abbr, g.away_team_abbr)}
    odds_names = {fold_diacritics(p.full_name).replace(" Jr.", " Jr") for p in active if p.team_abbr in playing}
    assert {line.player_name for line in props.rows} <= odds_names
    assert bool(props.rows) == bool(playing)
    assert all(line.line % 1 == 0.5 and (line.over_odds <= -100 or line.over_odds >= 100) for line in props.rows)


def test_box_score_names_mostly_match_the_registry_with_realistic_variants():
    registry = {p.full_name for p in SOURCE.player_registry(FINAL).players}
    names = {row.player_name for d in (date(2024, 11, 5), date(2025, 1, 8), date(2025, 3, 12))
             for row in SOURCE.player_boxscores(d).rows}
    variants = names - registry
    assert variants, "some box-score names must differ from the registry"
    assert len(variants) / len(names) < 0.15
    spellings = {form for n in registry for form in (fold_diacritics(n), n.removesuffix(" Jr."),
                                                     fold_diacritics(n).removesuffix(" Jr."))}
    assert variants <= spellings, "every variant is a folded or suffix-less registry name"


def test_namesakes_and_a_deadline_trade_exercise_resolution():
    before, after = SOURCE.player_registry(date(2025, 1, 1)), SOURCE.player_registry(date(2025, 3, 1))
    names = Counter(p.full_name for p in before.players)
    assert max(names.values()) == 2
    moved = [(a.team_abbr, b.team_abbr) for a, b in zip(before.players, after.players) if a.team_abbr != b.team_abbr]
    assert len(moved) == 8 and all(x and y for x, y in moved)


def test_days_without_games_have_empty_payloads_but_a_registry():
    for day in (date(2024, 12, 24), date(2024, 7, 1)):
        assert SOURCE.schedule(day).games == () and SOURCE.player_boxscores(day).rows == ()
        assert SOURCE.prop_lines(day).rows == ()
        assert len(SOURCE.player_registry(day).players) == 750


def test_unknown_scraper_is_refused():
    with pytest.raises(KeyError, match="unknown scraper 'injuries'"):
        SOURCE.payload("injuries", OPENING)
