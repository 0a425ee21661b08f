"""Names no spelling rule can connect to the registry, each tied to the case that needs it.

An alias is a curated fact ("this source calls person P by this name"), so it outranks every
inference the resolver makes after the normalised name. Keep the table small: add an entry
only for a real name seen in a real source, and say why normalisation cannot handle it.
Keys are compared by `name_key(...).full`, so spelling variants of an entry match it too.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.identity.names import name_key


@dataclass(frozen=True)
class Alias:
    name: str
    person_id: int
    registry_name: str
    why: str


ALIASES: tuple[Alias, ...] = (
    Alias("Kenyon Martin Jr.", 1630231, "KJ Martin",
          "Legal name vs the nickname NBA.com lists. The 2024-25 box scores (kbraj9) spell it "
          "'Kenyon Martin Jr.' (43 rows); the registry and the id-bearing player logs say 'KJ Martin'. "
          "Dropping the suffix would point at his father Kenyon Martin (2030), who retired in 2015."),
    Alias("Cui Yongxi", 1642385, "Cui Cui",
          "Family-name-first order vs a broken registry entry. The 2024-25 box scores say 'Cui Yongxi' "
          "(Nets, 5 rows); nba_api's static registry lists the only person named Cui, a 2024 entrant "
          "(id 1642385), as first and last name 'Cui'. Not in the id-bearing logs, so unverified there."),
    Alias("ga Bitadze", 1629048, "Goga Bitadze",
          "A source truncation, not a nickname: the 2024-25 box scores drop the first two letters of "
          "'Goga' on all 68 of his rows; the id-bearing logs confirm 1629048 on those dates and teams."),
    # The prop-line feed (The Odds API, Oct-Nov 2024) uses names NBA.com does not:
    Alias("Herb Jones", 1630529, "Herbert Jones",
          "Nickname in the prop lines (25 lines); NBA.com, the box scores and the logs say 'Herbert Jones'."),
    Alias("Moe Wagner", 1629021, "Moritz Wagner",
          "Nickname in the prop lines (7 lines); NBA.com, the box scores and the logs say 'Moritz Wagner'. "
          "His brother Franz is a different person with a different first name."),
    Alias("Carlton Carrington", 1642267, "Bub Carrington",
          "Legal name in the prop lines (42 lines); NBA.com and the box scores use his nickname 'Bub'."),
    Alias("B.J. Boston Jr", 1630527, "Brandon Boston",
          "Nickname in the prop lines (12 lines); NBA.com lists 'Brandon Boston', the box scores and logs "
          "'Brandon Boston Jr.' (which normalisation already matches)."),
)

ALIAS_IDS: dict[str, int] = {name_key(a.name).full: a.person_id for a in ALIASES}
