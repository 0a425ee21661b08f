"""Provider player names → NBA person ids, via the player registry. Never guesses.

Methods, tried in order:
  exact       the one registry person whose normalised name matches, spelled exactly alike
  normalised  the same, spelled differently (case, punctuation, diacritics, initials)
  alias       a curated pair in shared.identity.aliases
  team        several candidates, exactly one on the row's team as of the game date
  active      several candidates, none on the team, exactly one active and not known
              to be on another team
  career      several namesakes, all but one of whom cannot have played on the game date
              (career-span evidence from the person ids, shared.identity.careers), and that
              one not known to be on another team
  suffix      no namesake, exactly one person with the same name apart from a suffix who
              could have played on the date and is not known to be on another team
Candidates are the registry persons with the same normalised name (namesakes) and those
with the same name apart from a generational suffix present on one side only ("Jimmy
Butler" / "Jimmy Butler III"): a provider may drop a suffix, so a name without one that
matches a retired father exactly still competes with his son. A suffix-only match is a
weaker clue — the other person may be a father or son — so a single such candidate is
accepted only with a game date (so career spans can rule out a retired father) and when the
registry does not place him on another team. Whatever remains is "ambiguous" (candidates the
evidence cannot separate) or "unknown" (no candidate, or none corroborated): the caller
quarantines it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from shared.identity.aliases import ALIAS_IDS
from shared.identity.careers import could_play
from shared.identity.names import NameKey, name_key

RESOLVED_METHODS = ("exact", "normalised", "alias", "team", "active", "career", "suffix")
UNRESOLVED_METHODS = ("ambiguous", "unknown")

_key = lru_cache(maxsize=65536)(name_key)


@dataclass(frozen=True)
class Resolution:
    person_id: int | None
    method: str
    candidates: tuple[int, ...] = ()
    reason: str = ""

    @property
    def resolved(self) -> bool:
        return self.person_id is not None


@dataclass
class RegisteredPerson:
    person_id: int
    full_name: str
    is_active: bool
    key: NameKey
    # (as_of_date, team_abbr) in date order; as_of_date None = undated (applies to any date)
    teams: list[tuple[date | None, str | None]] = field(default_factory=list)
    as_of: date | None = None

    def team_as_of(self, game_date: date | None) -> str | None:
        """The team on the latest registry date ≤ game_date (never a later one: no look-ahead)."""
        team = None
        for as_of, abbr in self.teams:
            if game_date is not None and as_of is not None and as_of > game_date:
                break
            team = abbr
        return team


class PlayerResolver:
    """Resolves names against registry rows: mappings with person_id, full_name, is_active and
    optionally team_abbr and as_of_date. Rows of several registry dates may be mixed: each
    person's team history then answers "team as of the game date"; name and activity come
    from the person's latest row."""

    def __init__(self, registry_rows: Iterable[Mapping[str, Any]]):
        self._persons: dict[int, RegisteredPerson] = {}
        for row in sorted(registry_rows, key=lambda r: (r.get("as_of_date") is not None, r.get("as_of_date"))):
            self._add(row)
        self._by_name: dict[str, list[RegisteredPerson]] = defaultdict(list)
        self._by_base: dict[str, list[RegisteredPerson]] = defaultdict(list)
        for person in self._persons.values():
            self._by_name[person.key.full].append(person)
            self._by_base[person.key.base].append(person)

    def __len__(self) -> int:
        return len(self._persons)

    def _add(self, row: Mapping[str, Any]) -> None:
        person_id = int(row["person_id"])
        full_name = str(row["full_name"])
        person = self._persons.get(person_id)
        if person is None:
            person = self._persons[person_id] = RegisteredPerson(person_id, full_name, bool(row["is_active"]),
                                                                 _key(full_name))
        else:
            person.full_name, person.is_active, person.key = full_name, bool(row["is_active"]), _key(full_name)
        person.teams.append((row.get("as_of_date"), row.get("team_abbr") or None))

    def resolve(self, name: str, team_abbr: str | None = None, game_date: date | None = None) -> Resolution:
        key = _key(name)
        namesakes = self._by_name.get(key.full, [])
        # A suffix missing on one side may be a dropped "Jr." or a different generation.
        suffix_only = [p for p in self._by_base.get(key.base, []) if bool(p.key.suffix) != bool(key.suffix)]
        if len(namesakes) == 1 and (key.suffix or not suffix_only):
            person = namesakes[0]
            method = "exact" if person.full_name == name.strip() else "normalised"
            return Resolution(person.person_id, method, (person.person_id,),
                              f"registry name {person.full_name!r}")
        aliased = ALIAS_IDS.get(key.full)
        if aliased is not None and aliased in self._persons:
            return Resolution(aliased, "alias", (aliased,), f"alias of {self._persons[aliased].full_name!r}")
        if namesakes:
            separated = _separate(name, [*namesakes, *suffix_only], team_abbr, game_date, suffix_only=False)
        elif suffix_only:
            separated = _separate(name, suffix_only, team_abbr, game_date, suffix_only=True)
        else:
            return Resolution(None, "unknown", (), f"no registry person named {name!r}")
        if separated.resolved or game_date is None:
            return separated
        return _by_career(name, namesakes, suffix_only, team_abbr, game_date) or separated


def _by_career(name: str, namesakes: Sequence[RegisteredPerson], suffix_only: Sequence[RegisteredPerson],
               team_abbr: str | None, game_date: date) -> Resolution | None:
    """When team and activity could not tell: leave out the candidates whose career cannot
    reach `game_date`; exactly one left, and not on another team as of the date, is the person."""
    all_ids = tuple(sorted(p.person_id for p in (*namesakes, *suffix_only)))
    namesakes = [p for p in namesakes if _could_play(p, game_date)]
    suffix_only = [p for p in suffix_only if _could_play(p, game_date)]
    remaining = [*namesakes, *suffix_only]
    if len(remaining) != 1 or _on_another_team(remaining[0], team_abbr, game_date):
        return None
    person, left_out = remaining[0], len(all_ids) - 1
    if namesakes:
        return Resolution(person.person_id, "career", all_ids,
                          f"{left_out} namesake(s) whose careers cannot reach {game_date} left out")
    return Resolution(person.person_id, "suffix", all_ids,
                      f"the only person named {person.full_name!r} apart from a suffix who can have played on "
                      f"{game_date}" + (f" ({left_out} left out by career span)" if left_out else ""))


def _could_play(person: RegisteredPerson, game_date: date) -> bool:
    """Only a person the registry calls inactive is left out by his id's era: an active one
    (or one on a team) is evidence the other way."""
    return person.is_active or person.team_as_of(game_date) is not None or could_play(person.person_id, game_date)


def _on_another_team(person: RegisteredPerson, team_abbr: str | None, game_date: date) -> bool:
    team = person.team_as_of(game_date)
    return team_abbr is not None and team is not None and team != team_abbr


def _separate(name: str, candidates: Sequence[RegisteredPerson], team_abbr: str | None,
              game_date: date | None, *, suffix_only: bool) -> Resolution:
    """Pick the one candidate the team or activity singles out, or refuse."""
    ids = tuple(sorted(p.person_id for p in candidates))
    clue = "apart from a suffix" if suffix_only else "with this name"
    if team_abbr:
        on_team = [p for p in candidates if p.team_as_of(game_date) == team_abbr]
        if len(on_team) == 1:
            return Resolution(on_team[0].person_id, "team", ids,
                              f"the only one of {len(ids)} persons {clue} on {team_abbr}")
        if len(on_team) > 1:
            return Resolution(None, "ambiguous", ids, f"{len(on_team)} persons {clue} on {team_abbr}")
    uncontradicted = [p for p in candidates if p.is_active
                      and (team_abbr is None or p.team_as_of(game_date) is None)]
    if len(uncontradicted) == 1:
        return Resolution(uncontradicted[0].person_id, "active", ids,
                          f"the only active one of {len(ids)} persons {clue}")
    if uncontradicted or not suffix_only:
        return Resolution(None, "ambiguous", ids,
                          f"{len(ids)} persons {clue}; neither team nor activity singles one out")
    return Resolution(None, "unknown", ids,
                      f"{len(ids)} person(s) {clue}, none on {team_abbr or 'the team'} or active")
