"""Career-span evidence and the suffix rule: a retired namesake is left out, a suffix-only
difference is accepted when exactly one candidate remains; without evidence, quarantine."""
from datetime import date

import pytest

from shared.identity.careers import could_play, latest_possible_season, season_start_year
from shared.identity.resolver import PlayerResolver

D = date(2025, 1, 15)


def person(person_id, full_name, *, active=False, team=None):
    return {"person_id": person_id, "full_name": full_name, "is_active": active, "team_abbr": team}


def test_person_id_eras():
    assert latest_possible_season(76526) == 2018 and latest_possible_season(893) == 2020
    assert latest_possible_season(2544) is None and latest_possible_season(1631098) is None
    assert not could_play(76526, D) and could_play(76526, date(1985, 1, 1)) and could_play(1631098, D)
    assert season_start_year(date(2025, 1, 15)) == 2024 and season_start_year(date(2024, 10, 22)) == 2024


@pytest.mark.parametrize("registry, name, team, expected", [
    # the real pairs of 2024-25: a historical namesake, both inactive in the 2026 snapshot, no team
    ([person(76526, "Johnny Davis"), person(1631098, "Johnny Davis")], "Johnny Davis", "WAS", (1631098, "career")),
    ([person(78561, "Nate Williams"), person(1631466, "Nate Williams")], "Nate Williams", "HOU", (1631466, "career")),
    # a suffix only the box score has, one candidate, inactive in the snapshot, no team
    ([person(1630527, "Brandon Boston")], "Brandon Boston Jr.", "NOP", (1630527, "suffix")),
    # no evidence: two current namesakes, neither rostered nor active
    ([person(1631098, "Johnny Davis"), person(1641000, "Johnny Davis")], "Johnny Davis", "WAS", (None, "ambiguous")),
    # the one candidate left is on another team as of the date: not him
    ([person(76526, "Johnny Davis"), person(1631098, "Johnny Davis", team="LAL")], "Johnny Davis", "WAS",
     (None, "ambiguous")),
    ([person(1630527, "Brandon Boston", team="LAC")], "Brandon Boston Jr.", "NOP", (None, "unknown")),
    # the suffix-only candidate is a retired father: nobody left
    ([person(76100, "Gary Payton")], "Gary Payton II", "GSW", (None, "unknown")),
    # an active person of an old era is not ruled out by his id
    ([person(500, "Old Timer", active=True), person(1641001, "Old Timer")], "Old Timer", None,
     (500, "active")),
])
def test_career_and_suffix(registry, name, team, expected):
    resolution = PlayerResolver(registry).resolve(name, team, D)
    assert (resolution.person_id, resolution.method) == expected, resolution.reason


def test_without_a_game_date_there_is_no_career_evidence():
    resolver = PlayerResolver([person(76526, "Johnny Davis"), person(1631098, "Johnny Davis")])
    assert resolver.resolve("Johnny Davis", "WAS").method == "ambiguous"
    assert PlayerResolver([person(1630527, "Brandon Boston")]).resolve("Brandon Boston Jr.", "NOP").method == "unknown"
