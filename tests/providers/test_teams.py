import csv

import pytest

from shared.providers import teams


def test_thirty_distinct_teams_in_two_conferences_of_three_divisions():
    assert len(teams.TEAMS) == 30
    assert len({t.abbr for t in teams.TEAMS}) == len({t.team_id for t in teams.TEAMS}) == 30
    for conference in ("East", "West"):
        divisions = {t.division for t in teams.TEAMS if t.conference == conference}
        assert len(divisions) == 3
        for division in divisions:
            assert sum(t.division == division for t in teams.TEAMS) == 5


def test_lookups_by_every_name_a_provider_uses():
    blazers = teams.by_abbr("POR")
    assert teams.by_nickname("Trail Blazers") is blazers
    assert teams.by_full_name("Portland Trail Blazers") is blazers
    assert teams.by_id(1610612757) is blazers
    assert teams.by_full_name("LA Clippers") is teams.by_abbr("LAC")
    with pytest.raises(KeyError, match="no NBA team with nickname 'Blazers'"):
        teams.by_nickname("Blazers")


def test_the_table_matches_nba_api_static(data_dir):
    with (data_dir / "nba-api-static" / "teams.csv").open() as handle:
        rows = {int(r["id"]): r for r in csv.DictReader(handle)}
    assert set(rows) == {t.team_id for t in teams.TEAMS}
    for team in teams.TEAMS:
        row = rows[team.team_id]
        assert (team.abbr, team.city, team.nickname, team.full_name) == (
            row["abbreviation"], row["city"], row["nickname"], row["full_name"])
