"""`synthetic`: a deterministic, seeded NBA season served as provider payloads.

    source = SyntheticSource(seed=0)              # season "2024-25": Oct 22 → Apr 13
    source.payload("player_boxscores", date(2025, 1, 15))

What is realistic about it, and what the pipeline relies on:

- the 30 real teams; 15-man rosters of generated people with ids from 9,000,000 up (never an
  NBA.com id); 1,230 games, 82 per team (41 at home), at most one per team per day, some
  back-to-backs, never three days in a row, no games on Thanksgiving, Christmas Eve or
  during the All-Star break; a few players traded at the deadline (the registry follows).
- box scores that add up: player points sum to the team's, points = 2·FGM + 3PM + FTM,
  FGM ≤ FGA, 3PM ≤ 3PA ≤ FGA, FTM ≤ FTA, minutes sum to 240 per team (+25 per overtime).
- names as real feeds spell them: the registry has "Jr.", "III" and diacritics; the box
  score provider folds diacritics and sometimes drops the suffix, the odds feed writes
  "Jr" without the dot. Two pairs of namesakes (a retired one, and two active players on
  different teams) make the name→id resolution of Phase 2 work for its answer.
- prop lines come from what was knowable before tip-off (player profiles), never from the
  game's box score: no look-ahead.
- the injury report of D lists, per game, the rostered players ruled out before tip-off
  ("out": they are not in the box score) and a few "questionable" ones who play as usual.

Determinism: every random draw comes from `random.Random` seeded with a string naming the
seed and what is drawn (the season, one game's box score, one game's props), so the same
seed gives byte-identical payloads in any process, and any single day is generated without
generating the others. Only the schedule and rosters are built for the whole season, once
per source (tens of milliseconds).
"""
from __future__ import annotations

import math
import random
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from shared.providers import teams
from shared.providers.payloads import (
    InjuryReport,
    Payload,
    PlayerBoxScore,
    PlayerBoxScores,
    PlayerRegistry,
    PropLine,
    PropLines,
    RegisteredPlayer,
    ReportedPlayer,
    Schedule,
    ScheduledGame,
    TeamBoxScore,
    TeamBoxScores,
)
from shared.providers.seasons import Season
from shared.providers.teams import Team

FIRST_PERSON_ID = 9_000_000
ROSTER_SIZE = 15
RETIRED_PEOPLE = 300
TRADED_PAIRS = 4
REGULATION_MINUTES = 240  # 5 players × 48 minutes
OVERTIME_MINUTES = 25  # 5 players × 5 minutes
INJURY_RATE = 0.07  # a rostered player is ruled out of a game (and listed "out") with this chance
QUESTIONABLE_RATE = 0.04  # an available player is listed "questionable" (he plays as usual)
EASTERN = ZoneInfo("America/New_York")


# --- the calendar -----------------------------------------------------------------------
@dataclass(frozen=True)
class SeasonCalendar:
    """Opening night, the last day and the days without games of a regular season "YYYY-YY"."""

    season: str
    opening_day: date
    final_day: date
    trade_deadline: date
    dark_days: frozenset[date]

    @classmethod
    def of(cls, season: str) -> SeasonCalendar:
        start_year = _season_start_year(season)
        opening = _first_weekday_on_or_after(date(start_year, 10, 21), 1)  # a Tuesday
        final = opening + timedelta(days=173)  # the Sunday 25 weeks on (2024-25: Apr 13)
        thanksgiving = _first_weekday_on_or_after(date(start_year, 11, 22), 3)
        all_star_sunday = _first_weekday_on_or_after(date(start_year + 1, 2, 15), 6)
        all_star_break = {all_star_sunday + timedelta(days=k) for k in range(-2, 4)}
        deadline = _first_weekday_on_or_after(date(start_year + 1, 2, 3), 3)
        return cls(season, opening, final, deadline,
                   frozenset({thanksgiving, date(start_year, 12, 24)} | all_star_break))

    def game_days(self) -> list[date]:
        days = (self.opening_day + timedelta(days=k) for k in range((self.final_day - self.opening_day).days + 1))
        return [day for day in days if day not in self.dark_days]


def _season_start_year(season: str) -> int:
    head, _, tail = season.partition("-")
    if not (head.isdigit() and len(head) == 4 and tail.isdigit() and len(tail) == 2
            and (int(head) + 1) % 100 == int(tail)):
        raise ValueError(f"season must look like '2024-25', got {season!r}")
    return int(head)


def _first_weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


# --- the schedule -----------------------------------------------------------------------
@dataclass(frozen=True)
class SyntheticGame:
    game_id: str
    day: date
    home: Team
    away: Team
    start_time_utc: datetime


# How busy each weekday is relative to the others (Mon..Sun), as in a real NBA week.
_WEEKDAY_LOAD = (1.0, 0.9, 1.25, 0.65, 1.15, 1.0, 0.8)
_TIP_OFFS_ET = ((time(19, 0), 4), (time(19, 30), 4), (time(20, 0), 3), (time(20, 30), 1),
                (time(21, 0), 1), (time(22, 0), 2), (time(22, 30), 1))


def _matchups(rng: random.Random) -> list[tuple[Team, Team]]:
    """1,230 (home, away) pairs: every pair home and away once (58 games a team), plus a
    circulant 24-regular graph over a conference-grouped order (24 more: 12 home, 12 away)."""
    pairs = [(home, away) for home in teams.TEAMS for away in teams.TEAMS if home is not away]
    by_conference = sorted(teams.TEAMS, key=lambda t: (t.conference, rng.random()))
    n = len(by_conference)
    pairs += [(by_conference[i], by_conference[(i + k) % n]) for i in range(n) for k in range(1, 13)]
    rng.shuffle(pairs)
    return pairs


class _DayPlanner:
    """Greedy day-by-day placement: each day takes its share of the games left, preferring teams
    with many games left and avoiding back-to-backs where it can; never three days running."""

    def __init__(self, days: list[date], rng: random.Random) -> None:
        self.days = days
        self.rng = rng
        self.played: dict[str, set[date]] = defaultdict(set)

    def plan(self, matchups: list[tuple[Team, Team]]) -> list[tuple[date, Team, Team]]:
        remaining = list(matchups)
        left = Counter(t.abbr for pair in matchups for t in pair)
        placed: list[tuple[date, Team, Team]] = []
        for index, day in enumerate(self.days):
            load_left = sum(_WEEKDAY_LOAD[d.weekday()] for d in self.days[index:])
            target = round(len(remaining) * _WEEKDAY_LOAD[day.weekday()] / load_left + self.rng.uniform(-1.5, 1.5))
            chosen = self._choose(day, remaining, left, max(1, min(15, target)))
            taken = {id(pair) for pair in chosen}
            remaining = [pair for pair in remaining if id(pair) not in taken]
            for pair in chosen:
                placed.append(self._place(day, *pair))
                left[pair[0].abbr] -= 1
                left[pair[1].abbr] -= 1
        placed += [self._place_leftover(pair) for pair in remaining]
        return placed

    def _choose(self, day: date, remaining, left: Counter, target: int) -> list[tuple[Team, Team]]:
        yesterday = day - timedelta(days=1)
        rested = {abbr: 0 if yesterday in days else 4 for abbr, days in self.played.items()}
        random_ = self.rng.random

        def priority(pair: tuple[Team, Team]) -> float:
            home, away = pair[0].abbr, pair[1].abbr
            return left[home] + left[away] + rested.get(home, 4) + rested.get(away, 4) + 3 * random_()

        busy: set[str] = set()
        chosen = []
        for pair in sorted(remaining, key=priority, reverse=True):
            if len(chosen) == target:
                break
            abbrs = {t.abbr for t in pair}
            if busy & abbrs or any(self._third_in_a_row(a, day) for a in abbrs):
                continue
            busy |= abbrs
            chosen.append(pair)
        return chosen

    def _place_leftover(self, pair: tuple[Team, Team]) -> tuple[date, Team, Team]:
        abbrs = [t.abbr for t in pair]
        free = [d for d in self.days if not any(d in self.played[a] or self._third_in_a_row(a, d) for a in abbrs)]
        if not free:
            raise RuntimeError(f"no free day left for {pair[1].abbr} @ {pair[0].abbr}")
        return self._place(self.rng.choice(free), *pair)

    def _third_in_a_row(self, abbr: str, day: date) -> bool:
        played, one, two = self.played[abbr], timedelta(days=1), timedelta(days=2)
        return ((day - one in played and day - two in played) or (day - one in played and day + one in played)
                or (day + one in played and day + two in played))

    def _place(self, day: date, home: Team, away: Team) -> tuple[date, Team, Team]:
        self.played[home.abbr].add(day)
        self.played[away.abbr].add(day)
        return day, home, away


def _tip_off(day: date, rng: random.Random) -> datetime:
    slots, weights = zip(*_TIP_OFFS_ET)
    if day.weekday() >= 5 and rng.random() < 0.25:
        local = time(15, 30) if rng.random() < 0.5 else time(18, 0)
    else:
        local = rng.choices(slots, weights)[0]
    return datetime.combine(day, local, EASTERN).astimezone(timezone.utc)


@lru_cache(maxsize=8)
def build_schedule(calendar: SeasonCalendar, seed: int) -> tuple[SyntheticGame, ...]:
    rng = random.Random(f"{seed}:schedule:{calendar.season}")
    placed = _DayPlanner(calendar.game_days(), rng).plan(_matchups(rng))
    timed = sorted(((_tip_off(day, rng), day, home, away) for day, home, away in placed),
                   key=lambda g: (g[1], g[0], g[2].abbr))
    prefix = f"002{calendar.season[2:4]}"
    return tuple(SyntheticGame(f"{prefix}{n:05d}", day, home, away, start)
                 for n, (start, day, home, away) in enumerate(timed, start=1))


# --- people -----------------------------------------------------------------------------
_FIRST_NAMES = (
    "Aaron", "Adrian", "Alec", "Andre", "Anthony", "Bennett", "Blake", "Brandon", "Caleb", "Cam",
    "Chris", "Cole", "Collin", "Damon", "Darius", "Dejan", "Derrick", "Devin", "Dominik", "Elijah",
    "Evan", "Franz", "Gary", "Grant", "Isaiah", "Jaden", "Jalen", "Jamal", "Jaren", "Javon",
    "Jordan", "Josh", "Julian", "Justin", "Keegan", "Keon", "Kevin", "Kyle", "Lamar", "Luka",
    "Malik", "Marcus", "Mark", "Mason", "Max", "Micah", "Miles", "Nate", "Nikola", "Noah",
    "Obi", "Oscar", "Paolo", "Quentin", "Reggie", "Ricky", "Romeo", "Ryan", "Scottie", "Sean",
    "Shai", "Terrence", "Theo", "Trey", "Tyler", "Tyrese", "Victor", "Walker", "Wendell", "Xavier",
    "Zach", "Zion", "Bogdan", "Jonas", "Goran", "Kristaps", "Dario", "Nicolas", "Andres", "Mateo",
)
_LAST_NAMES = (
    "Adams", "Allen", "Anderson", "Bailey", "Banks", "Barnes", "Bell", "Brooks", "Brown", "Bryant",
    "Carter", "Clark", "Coleman", "Collins", "Cooper", "Davis", "Dixon", "Edwards", "Ellis", "Evans",
    "Fisher", "Foster", "Gibson", "Grant", "Gray", "Green", "Griffin", "Hall", "Harris", "Hayes",
    "Henderson", "Hill", "Holmes", "Howard", "Hughes", "Jackson", "James", "Jenkins", "Johnson", "Jones",
    "Jordan", "Kelly", "King", "Lewis", "Long", "Marshall", "Martin", "Mason", "Mitchell", "Moore",
    "Morgan", "Morris", "Murray", "Nelson", "Owens", "Parker", "Patterson", "Perry", "Porter", "Powell",
    "Price", "Reed", "Reynolds", "Richardson", "Roberts", "Robinson", "Ross", "Russell", "Sanders", "Scott",
    "Simmons", "Smith", "Stewart", "Sullivan", "Taylor", "Thomas", "Thompson", "Tucker", "Turner", "Walker",
    "Wallace", "Ward", "Washington", "Watson", "White", "Williams", "Wilson", "Wright", "Young", "Holiday",
    # names whose registry spelling carries diacritics the box score provider folds away
    "Jokić", "Dončić", "Bogdanović", "Nurkić", "Valančiūnas", "Porziņģis", "Šarić", "Schröder",
    "Hernangómez", "Vučević", "Jović", "Krejčí", "Dūmiņš", "Müller", "Núñez",
)
_SUFFIXES = (("Jr.", 0.05), ("II", 0.01), ("III", 0.01))
_POSITIONS = (("G", 0.40), ("F", 0.35), ("C", 0.25))
# Expected minutes by depth-chart rank (before noise and scaling to 240).
_ROLE_MINUTES = (34, 33, 31, 30, 28, 24, 22, 20, 17, 14, 10, 7, 5, 3, 2)
ROTATION_SIZE = 10


def fold_diacritics(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Profile:
    """What a player does per minute on average: known before any game (props come from it)."""

    position: str
    role_minutes: float
    fga_per_minute: float
    three_share: float
    fg2_pct: float
    fg3_pct: float
    fta_per_fga: float
    ft_pct: float
    reb_per_minute: float
    ast_per_minute: float
    stl_per_minute: float
    blk_per_minute: float
    tov_per_minute: float

    @property
    def expected_fga(self) -> float:
        return self.fga_per_minute * self.role_minutes

    @property
    def expected_threes(self) -> float:
        return self.expected_fga * self.three_share * self.fg3_pct

    @property
    def expected_points(self) -> float:
        fga = self.expected_fga
        return (2 * fga * (1 - self.three_share) * self.fg2_pct + 3 * fga * self.three_share * self.fg3_pct
                + fga * self.fta_per_fga * self.ft_pct)


@dataclass(frozen=True)
class Person:
    person_id: int
    first_name: str
    last_name: str  # with the suffix, as NBA.com writes it: "Smith Jr."
    is_active: bool
    box_score_name: str  # how the box-score provider spells this person
    odds_name: str  # how the odds feed spells this person
    profile: Profile | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    names, weights = zip(*options)
    return rng.choices(names, weights)[0]


def _unique_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    while len(names) < count:
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        suffix = next((s for s, p in _SUFFIXES if rng.random() < p), "")
        key = (first, fold_diacritics(last))
        if key in seen:
            continue
        seen.add(key)
        names.append((first, f"{last} {suffix}".strip()))
    return names


def _spellings(first: str, last: str, rng: random.Random) -> tuple[str, str]:
    """(box-score name, odds-feed name) of a registry name, with the feeds' usual habits."""
    full = f"{first} {last}"
    box = full
    if fold_diacritics(full) != full and rng.random() < 0.7:
        box = fold_diacritics(full)
    if last.endswith(" Jr.") and rng.random() < 0.4:
        box = box.removesuffix(" Jr.")
    odds = fold_diacritics(full).replace(" Jr.", " Jr")
    return box, odds


def _profile(rng: random.Random, rank: int) -> Profile:
    position = _weighted(rng, _POSITIONS)
    star = 1 - rank / (ROSTER_SIZE - 1)
    jitter = rng.gauss
    return Profile(
        position=position,
        role_minutes=max(1.0, _ROLE_MINUTES[rank] + jitter(0, 2)),
        fga_per_minute=max(0.2, 0.29 + 0.10 * star + jitter(0, 0.03)),
        three_share=min(0.7, max(0.02, {"G": 0.45, "F": 0.40, "C": 0.15}[position] + jitter(0, 0.08))),
        fg2_pct=min(0.68, max(0.4, {"G": 0.50, "F": 0.53, "C": 0.60}[position] + jitter(0, 0.03))),
        fg3_pct=min(0.44, max(0.25, (0.32 if position == "C" else 0.36) + jitter(0, 0.03))),
        fta_per_fga=min(0.45, max(0.08, 0.22 + jitter(0, 0.07))),
        ft_pct=min(0.93, max(0.5, (0.70 if position == "C" else 0.79) + jitter(0, 0.07))),
        reb_per_minute=max(0.05, {"G": 0.13, "F": 0.19, "C": 0.29}[position] + jitter(0, 0.03)),
        ast_per_minute=max(0.02, {"G": 0.17, "F": 0.09, "C": 0.07}[position] + jitter(0, 0.03)),
        stl_per_minute=max(0.005, 0.03 + jitter(0, 0.008)),
        blk_per_minute={"G": 0.01, "F": 0.02, "C": 0.05}[position],
        tov_per_minute=max(0.01, 0.045 + 0.02 * star + jitter(0, 0.01)),
    )


@dataclass(frozen=True)
class League:
    """Everyone in the registry, and who plays for whom from when."""

    people: tuple[Person, ...]
    rosters: dict[str, tuple[Person, ...]]  # opening-night rosters by team abbreviation, best first
    trades: tuple[tuple[date, Person, str, str], ...]  # (day, person, from, to)

    def team_of(self, person: Person, day: date) -> str | None:
        team = self._opening_team.get(person.person_id)
        for trade_day, traded, _, to_team in self.trades:
            if traded.person_id == person.person_id and day >= trade_day:
                team = to_team
        return team

    def roster(self, abbr: str, day: date) -> list[Person]:
        """The team's players on `day`, best first (traded players keep their rank order)."""
        players = [p for p in self._everyone_ever_on(abbr) if self.team_of(p, day) == abbr]
        return sorted(players, key=lambda p: -p.profile.role_minutes)

    @cached_property
    def _opening_team(self) -> dict[int, str]:
        return {p.person_id: abbr for abbr, roster in self.rosters.items() for p in roster}

    def _everyone_ever_on(self, abbr: str) -> list[Person]:
        return list(self.rosters[abbr]) + [p for _, p, _, to in self.trades if to == abbr]


@lru_cache(maxsize=8)
def build_league(calendar: SeasonCalendar, seed: int) -> League:
    rng = random.Random(f"{seed}:league:{calendar.season}")
    active_count = len(teams.TEAMS) * ROSTER_SIZE
    names = _unique_names(rng, active_count + RETIRED_PEOPLE)
    names[-1] = names[0]  # a retired namesake of an active player
    names[ROSTER_SIZE] = (names[1][0], names[1][1])  # two active namesakes, on different teams
    people, rosters = [], {}
    person_ids = iter(range(FIRST_PERSON_ID, FIRST_PERSON_ID + len(names)))
    for team_index, team in enumerate(teams.TEAMS):
        roster = []
        for rank in range(ROSTER_SIZE):
            first, last = names[team_index * ROSTER_SIZE + rank]
            box, odds = _spellings(first, last, rng)
            roster.append(Person(next(person_ids), first, last, True, box, odds, _profile(rng, rank)))
        rosters[team.abbr] = tuple(roster)
        people += roster
    for first, last in names[active_count:]:
        people.append(Person(next(person_ids), first, last, False, f"{first} {last}", f"{first} {last}"))
    return League(tuple(people), rosters, _deadline_trades(rosters, calendar, rng))


def _deadline_trades(rosters: dict[str, tuple[Person, ...]], calendar: SeasonCalendar,
                     rng: random.Random) -> tuple[tuple[date, Person, str, str], ...]:
    """Player-for-player swaps of similar rank between two teams, so every roster keeps 15."""
    trades = []
    abbrs = sorted(rosters)
    for _ in range(TRADED_PAIRS):
        a, b = rng.sample(abbrs, 2)
        rank = rng.randrange(3, 12)
        trades += [(calendar.trade_deadline, rosters[a][rank], a, b),
                   (calendar.trade_deadline, rosters[b][rank], b, a)]
        abbrs.remove(a)
        abbrs.remove(b)
    return tuple(trades)


# --- one game ---------------------------------------------------------------------------
def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(rng.random() < p for _ in range(n))


def _split_exactly(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to `weights` summing exactly to `total` (largest remainders)."""
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    parts = [math.floor(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


@dataclass(frozen=True)
class _Line:
    """One player's game, minutes in hundredths so a team's minutes sum exactly."""

    person: Person
    centiminutes: int
    fgm: int
    fga: int
    fg3m: int
    fg3a: int
    ftm: int
    fta: int
    rebounds: int
    assists: int
    steals: int
    blocks: int
    turnovers: int

    @property
    def points(self) -> int:
        return 2 * self.fgm + self.fg3m + self.ftm


@dataclass(frozen=True)
class _GameResult:
    game: SyntheticGame
    overtimes: int
    home: list[_Line]
    away: list[_Line]
    team_extras: dict[str, tuple[int, int]]  # abbr -> (offensive rebounds, personal fouls)
    unavailable: dict[str, tuple[Person, ...]]  # abbr -> rostered players ruled out before tip-off


class _GameSimulator:
    def __init__(self, league: League, strength: dict[str, tuple[float, float]], seed: int) -> None:
        self.league = league
        self.strength = strength
        self.seed = seed

    def play(self, game: SyntheticGame) -> _GameResult:
        rng = random.Random(f"{self.seed}:box:{game.game_id}")
        overtimes = 2 if rng.random() < 0.01 else 1 if rng.random() < 0.06 else 0
        total = 100 * (REGULATION_MINUTES + OVERTIME_MINUTES * overtimes)
        home, home_out = self._team_lines(rng, game.home, game.away, game.day, total, home_court=True)
        away, away_out = self._team_lines(rng, game.away, game.home, game.day, total, home_court=False)
        if sum(x.points for x in home) == sum(x.points for x in away):
            side = home if rng.random() < 0.5 else away  # no ties in basketball: one more free throw
            i = max(range(len(side)), key=lambda k: side[k].centiminutes)
            side[i] = _replace_line(side[i], ftm=side[i].ftm + 1, fta=side[i].fta + 1)
        extras = {t.abbr: (0, _poisson(rng, 19.0)) for t in (game.home, game.away)}
        for team, lines in ((game.home, home), (game.away, away)):
            rebounds = sum(x.rebounds for x in lines)
            extras[team.abbr] = (round(rebounds * rng.uniform(0.18, 0.30)), extras[team.abbr][1])
        return _GameResult(game, overtimes, home, away, extras,
                           {game.home.abbr: home_out, game.away.abbr: away_out})

    def _team_lines(self, rng: random.Random, team: Team, opponent: Team, day: date, total: int,
                    home_court: bool) -> tuple[list[_Line], tuple[Person, ...]]:
        """The team's lines, and the rostered players ruled out before tip-off (injuries: the
        injury report lists them)."""
        roster = self.league.roster(team.abbr, day)
        fit = [rng.random() >= INJURY_RATE for _ in roster]
        available = [p for p, ok in zip(roster, fit) if ok]
        unavailable = tuple(p for p, ok in zip(roster, fit) if not ok)
        rotation, bench = available[:ROTATION_SIZE], available[ROTATION_SIZE:]
        players = rotation + [p for p in bench if rng.random() < 0.35]
        weights = [(p.profile.role_minutes if p in rotation else rng.uniform(1, 6)) * rng.lognormvariate(0, 0.15)
                   for p in players]
        efficiency = self.strength[team.abbr][0] / self.strength[opponent.abbr][1] * (1.015 if home_court else 0.985)
        minutes = _split_exactly(total, weights)
        return [self._line(rng, p, m, efficiency) for p, m in zip(players, minutes) if m > 0], unavailable

    @staticmethod
    def _line(rng: random.Random, person: Person, centiminutes: int, efficiency: float) -> _Line:
        pr, played = person.profile, centiminutes / 100
        fga = _binomial(rng, round(2 * pr.fga_per_minute * played), 0.5)  # less spread than Poisson
        fg3a = _binomial(rng, fga, pr.three_share)
        fg3m = _binomial(rng, fg3a, min(0.6, pr.fg3_pct * efficiency))
        fg2m = _binomial(rng, fga - fg3a, min(0.75, pr.fg2_pct * efficiency))
        fta = _poisson(rng, pr.fta_per_fga * pr.fga_per_minute * played)
        return _Line(person, centiminutes, fgm=fg2m + fg3m, fga=fga, fg3m=fg3m, fg3a=fg3a,
                     ftm=_binomial(rng, fta, pr.ft_pct), fta=fta,
                     rebounds=_poisson(rng, pr.reb_per_minute * played),
                     assists=_poisson(rng, pr.ast_per_minute * played),
                     steals=_poisson(rng, pr.stl_per_minute * played),
                     blocks=_poisson(rng, pr.blk_per_minute * played),
                     turnovers=_poisson(rng, pr.tov_per_minute * played))


def _replace_line(line: _Line, **changes: int) -> _Line:
    return _Line(**{**line.__dict__, **changes})


# --- the source -------------------------------------------------------------------------
_BOOKMAKERS = ("draftkings", "fanduel", "betmgm", "williamhill_us")
PROP_PLAYERS_PER_TEAM = 8


class SyntheticSource:
    """Provider payloads of a generated season; the same seed gives the same bytes."""

    def __init__(self, seed: int = 0, season: str = "2024-25") -> None:
        self.seed = seed
        self.calendar = SeasonCalendar.of(season)
        self.label = "synthetic" if seed == 0 else f"synthetic:{seed}"

    @property
    def season(self) -> str:
        return self.calendar.season

    def seasons(self) -> list[Season]:
        """The one season generated: opening night to the last day of the regular season."""
        return [Season(self.calendar.season, self.calendar.opening_day, self.calendar.final_day)]

    @cached_property
    def games(self) -> tuple[SyntheticGame, ...]:
        return build_schedule(self.calendar, self.seed)

    @cached_property
    def league(self) -> League:
        return build_league(self.calendar, self.seed)

    def games_on(self, day: date) -> tuple[SyntheticGame, ...]:
        return self._games_by_day.get(day, ())

    def payload(self, scraper: str, day: date) -> Payload:
        builders = {"schedule": self.schedule, "player_boxscores": self.player_boxscores,
                    "team_boxscores": self.team_boxscores, "player_registry": self.player_registry,
                    "prop_lines": self.prop_lines, "injury_report": self.injury_report}
        if scraper not in builders:
            raise KeyError(f"unknown scraper {scraper!r}: use one of {', '.join(builders)}")
        return builders[scraper](day)

    def schedule(self, day: date) -> Schedule:
        games = tuple(ScheduledGame(game_id=g.game_id, game_date=g.day, start_time_utc=g.start_time_utc,
                                    home_team_id=g.home.team_id, home_team_abbr=g.home.abbr,
                                    away_team_id=g.away.team_id, away_team_abbr=g.away.abbr)
                      for g in self.games_on(day))
        return Schedule(source=self.label, as_of=day, games=games)

    def player_boxscores(self, day: date) -> PlayerBoxScores:
        rows = []
        for result in map(self._result, self.games_on(day)):
            home_points = sum(x.points for x in result.home)
            away_points = sum(x.points for x in result.away)
            for lines, team, opponent, is_home, won in (
                    (result.home, result.game.home, result.game.away, True, home_points > away_points),
                    (result.away, result.game.away, result.game.home, False, away_points > home_points)):
                rows += [_player_row(line, day, team, opponent, is_home, won) for line in lines]
        return PlayerBoxScores(source=self.label, as_of=day, rows=tuple(rows))

    def team_boxscores(self, day: date) -> TeamBoxScores:
        rows = []
        for result in map(self._result, self.games_on(day)):
            minutes = REGULATION_MINUTES + OVERTIME_MINUTES * result.overtimes
            home = _team_row(result, result.game.home, result.game.away, True, minutes)
            away = _team_row(result, result.game.away, result.game.home, False, minutes)
            rows += [home, away]
        return TeamBoxScores(source=self.label, as_of=day, rows=tuple(rows))

    def player_registry(self, day: date) -> PlayerRegistry:
        players = tuple(RegisteredPlayer(person_id=p.person_id, full_name=p.full_name, first_name=p.first_name,
                                         last_name=p.last_name, is_active=p.is_active,
                                         team_abbr=self.league.team_of(p, day))
                        for p in self.league.people)
        return PlayerRegistry(source=self.label, as_of=day, players=players)

    def prop_lines(self, day: date) -> PropLines:
        rows = [line for game in self.games_on(day) for line in self._props(game)]
        return PropLines(source=self.label, as_of=day, rows=tuple(rows))

    def injury_report(self, day: date) -> InjuryReport:
        """Each game's players ruled out before tip-off ("out": they do not play), and a few
        available ones listed "questionable" (drawn apart from the game, they play as usual)."""
        players = []
        for game in self.games_on(day):
            result = self._result(game)
            rng = random.Random(f"{self.seed}:injury-report:{game.game_id}")
            for team in (game.away, game.home):
                out = {p.person_id for p in result.unavailable[team.abbr]}
                for person in self.league.roster(team.abbr, day):
                    status = "out" if person.person_id in out else \
                        "questionable" if rng.random() < QUESTIONABLE_RATE else None
                    if status:
                        players.append(ReportedPlayer(person_id=person.person_id, player_name=person.full_name,
                                                      team_abbr=team.abbr, status=status, reason="injury"))
        return InjuryReport(source=self.label, as_of=day, players=tuple(players))

    # --- internals ----------------------------------------------------------------------
    @cached_property
    def _games_by_day(self) -> dict[date, tuple[SyntheticGame, ...]]:
        by_day: dict[date, list[SyntheticGame]] = defaultdict(list)
        for game in self.games:
            by_day[game.day].append(game)
        return {day: tuple(games) for day, games in by_day.items()}

    @cached_property
    def _strength(self) -> dict[str, tuple[float, float]]:
        """(offense, defense) multipliers per team, drawn once per season."""
        rng = random.Random(f"{self.seed}:strength:{self.season}")
        return {t.abbr: (rng.uniform(0.97, 1.03), rng.uniform(0.97, 1.03)) for t in teams.TEAMS}

    @cached_property
    def _result(self):
        simulator = _GameSimulator(self.league, self._strength, self.seed)
        return lru_cache(maxsize=32)(simulator.play)  # both box-score payloads of a day share the games

    def _props(self, game: SyntheticGame) -> list[PropLine]:
        rng = random.Random(f"{self.seed}:props:{game.game_id}")
        books = rng.sample(_BOOKMAKERS, 2)
        label = f"{game.away.full_name} @ {game.home.full_name}"
        lines = []
        for team in (game.away, game.home):
            for person in self.league.roster(team.abbr, game.day)[:PROP_PLAYERS_PER_TEAM]:
                pr = person.profile
                markets = {"player_points": pr.expected_points,
                           "player_rebounds": pr.reb_per_minute * pr.role_minutes,
                           "player_assists": pr.ast_per_minute * pr.role_minutes}
                if pr.expected_threes >= 0.8:
                    markets["player_threes"] = pr.expected_threes
                for market, expected in markets.items():
                    for book in books:
                        lines.append(_prop(rng, person, label, game.start_time_utc, market, expected, book))
        return lines


def _prop(rng: random.Random, person: Person, game: str, start: datetime, market: str, expected: float,
          book: str) -> PropLine:
    line = max(0.5, math.floor(expected * rng.uniform(0.93, 1.07)) + 0.5)
    lean = rng.randint(-25, 25)
    return PropLine(player_name=person.odds_name, game=game, game_time_utc=start, market=market, line=line,
                    bookmaker=book, over_odds=_american(-110 + lean), under_odds=_american(-110 - lean))


def _american(odds: int) -> int:
    """American odds never sit in (-100, 100): -90 is written +110."""
    return odds if odds <= -100 else 200 + odds if odds < 100 else odds


def _player_row(line: _Line, day: date, team: Team, opponent: Team, is_home: bool, won: bool) -> PlayerBoxScore:
    return PlayerBoxScore(
        game_date=day, player_name=line.person.box_score_name, team_abbr=team.abbr, opponent_abbr=opponent.abbr,
        is_home=is_home, won=won, minutes=line.centiminutes / 100, points=line.points, rebounds=line.rebounds,
        assists=line.assists, steals=line.steals, blocks=line.blocks, turnovers=line.turnovers, fgm=line.fgm,
        fga=line.fga, fg3m=line.fg3m, fg3a=line.fg3a, ftm=line.ftm, fta=line.fta)


def _team_row(result: _GameResult, team: Team, opponent: Team, is_home: bool, minutes: int) -> TeamBoxScore:
    own, other = (result.home, result.away) if is_home else (result.away, result.home)
    points, opponent_points = sum(x.points for x in own), sum(x.points for x in other)
    rebounds = sum(x.rebounds for x in own)
    oreb, fouls = result.team_extras[team.abbr]
    return TeamBoxScore(
        game_id=result.game.game_id, game_date=result.game.day, team_id=team.team_id, team_abbr=team.abbr,
        opponent_abbr=opponent.abbr, is_home=is_home, won=points > opponent_points, minutes=minutes,
        points=points, fgm=sum(x.fgm for x in own), fga=sum(x.fga for x in own), fg3m=sum(x.fg3m for x in own),
        fg3a=sum(x.fg3a for x in own), ftm=sum(x.ftm for x in own), fta=sum(x.fta for x in own), oreb=oreb,
        dreb=rebounds - oreb, reb=rebounds, ast=sum(x.assists for x in own), stl=sum(x.steals for x in own),
        blk=sum(x.blocks for x in own), tov=sum(x.turnovers for x in own), pf=fouls,
        plus_minus=float(points - opponent_points))
