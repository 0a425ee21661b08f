from datetime import date

import pytest

from shared.identity.aliases import ALIASES
from shared.identity.names import name_key
from shared.identity.resolver import PlayerResolver

D = date(2025, 1, 15)


def person(person_id, full_name, *, active=True, team=None, as_of=None):
    row = {"person_id": person_id, "full_name": full_name, "is_active": active, "team_abbr": team}
    if as_of is not None:
        row["as_of_date"] = as_of
    return row


REGISTRY = [
    person(1, "Luka Dončić", team="DAL"),
    person(2, "Jabari Smith Jr.", team="HOU"),
    person(3, "Jimmy Butler III", team="MIA"),
    person(4, "Kenyon Martin", active=False),             # the father
    person(1630231, "KJ Martin", team="PHI"),             # the son
    person(6, "Brandon Williams", active=False),          # 1990s
    person(7, "Brandon Williams", team="DAL"),
    person(8, "Nate Williams", active=False),
    person(9, "Nate Williams", active=False, team="GSW"),
    person(10, "Marcus Morris", team="CLE"),
    person(11, "Marcus Morris", team="CLE"),              # same name, same team: cannot be separated
    person(12, "Tim Hardaway", active=False),
    person(13, "Tim Hardaway Jr.", team="DET"),
]


@pytest.fixture(scope="module")
def resolver():
    return PlayerResolver(REGISTRY)


@pytest.mark.parametrize("name, team, expected_id, method", [
    ("Luka Dončić", "DAL", 1, "exact"),
    ("Luka Doncic", "DAL", 1, "normalised"),
    ("luka doncic", None, 1, "normalised"),
    ("Jabari Smith Jr", "HOU", 2, "normalised"),
    ("Jimmy Butler", "MIA", 3, "team"),                    # suffix on one side only, on the team
    ("Kenyon Martin Jr.", "PHI", 1630231, "alias"),             # legal name vs nickname, not the father
    ("Brandon Williams", "DAL", 7, "team"),
    ("Brandon Williams", "LAL", None, "ambiguous"),       # the active one is known to be on DAL
    ("Brandon Williams", None, 7, "active"),
    ("Nate Williams", "GSW", 9, "team"),
    ("Nate Williams", "NYK", None, "ambiguous"),
    ("Marcus Morris", "CLE", None, "ambiguous"),
    ("Tim Hardaway", "DET", 13, "team"),                  # namesake through the suffix-free key
    ("Tim Hardaway", None, 13, "active"),
    ("Tim Hardaway Jr.", "DET", 13, "exact"),
    ("Tim Hardaway Jr.", None, 13, "exact"),             # an explicit suffix match is not weakened by the father
    ("Somebody Else", "BOS", None, "unknown"),
])
def test_resolution(resolver, name, team, expected_id, method):
    resolution = resolver.resolve(name, team, D)
    assert (resolution.person_id, resolution.method) == (expected_id, method), resolution.reason


def test_an_exact_name_shared_by_two_persons_is_not_taken_at_face_value(resolver):
    resolution = resolver.resolve("Marcus Morris", "CLE", D)
    assert resolution.candidates == (10, 11) and not resolution.resolved


def test_a_suffix_only_match_needs_corroboration():
    # Without the alias table's entry, "Kenyon Martin Jr." would meet only his retired father.
    resolver = PlayerResolver([person(4, "Kenyon Martin", active=False), person(20, "Gary Payton", active=False)])
    martin = resolver.resolve("Kenyon Martin Jr.", "PHI", D)
    payton = resolver.resolve("Gary Payton II", "GSW", D)
    assert (martin.person_id, martin.method, martin.candidates) == (None, "unknown", (4,))
    assert (payton.person_id, payton.method) == (None, "unknown")


def test_a_suffix_only_match_on_another_team_is_refused():
    resolver = PlayerResolver([person(3, "Jimmy Butler III", team="GSW")])
    assert resolver.resolve("Jimmy Butler", "MIA", D).method == "unknown"
    assert resolver.resolve("Jimmy Butler", "GSW", D).person_id == 3


def test_conflicting_suffixes_are_different_people():
    resolver = PlayerResolver([person(30, "John Doe Sr.", team="BOS")])
    assert resolver.resolve("John Doe Jr.", "BOS", D).method == "unknown"


def test_team_as_of_the_game_date_never_looks_ahead():
    rows = [person(8, "Nate Williams", active=False, team=None, as_of=date(2024, 10, 1)),
            person(9, "Nate Williams", active=False, team="HOU", as_of=date(2024, 10, 1)),
            person(9, "Nate Williams", active=False, team="GSW", as_of=date(2025, 2, 1))]
    resolver = PlayerResolver(rows)
    assert resolver.resolve("Nate Williams", "HOU", date(2025, 1, 10)).person_id == 9
    assert resolver.resolve("Nate Williams", "GSW", date(2025, 1, 10)).method == "ambiguous"
    assert resolver.resolve("Nate Williams", "GSW", date(2025, 2, 3)).person_id == 9
    assert resolver.resolve("Nate Williams", "GSW", date(2024, 9, 1)).method == "ambiguous"


def test_an_alias_to_a_person_missing_from_the_registry_is_not_used():
    resolver = PlayerResolver([person(4, "Kenyon Martin", active=False)])
    assert not resolver.resolve("Kenyon Martin Jr.", "PHI", D).resolved


def test_every_alias_is_documented_and_unique():
    keys = [name_key(alias.name).full for alias in ALIASES]
    assert len(keys) == len(set(keys))
    for alias in ALIASES:
        assert alias.person_id > 0 and alias.why and alias.registry_name
        assert name_key(alias.name) != name_key(alias.registry_name)  # normalisation alone would do
