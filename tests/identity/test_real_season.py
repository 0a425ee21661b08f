"""Player identity on the real 2024-25 season (../shared/data; skipped when absent).

Input: every row of the kbraj9 box scores (names, team nicknames, no ids). Registry: the
nba_api static players (NBA.com ids) with, as the replay provider serves it, each player's
team as of the date from the id-bearing player logs (the team of their last logged game on or
before the date — never a later one). Truth: the id-bearing player logs (432 players).

Wrong ids are counted by joining the logs to the box scores on what identifies a player-game
without any name: (date, team, full stat line — points, rebounds, assists, steals, blocks,
turnovers, FGM/FGA, 3PM/3PA, FTM/FTA). A log row whose line matches exactly one box row pins
that box row to the log's person id; a different resolved id is a wrong id. Lines shared by
two box rows of one team-game are left out (counted), so no check rests on a guess either.

Run with -s to see the numbers.
"""
from __future__ import annotations

import csv
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from shared.identity import PlayerResolver, Resolution

pytestmark = pytest.mark.realdata

BOX_STATS = ("PTS", "TRB", "AST", "STL", "BLK", "TOV", "FG", "FGA", "3PM", "3PA", "FTM", "FTA")
LOG_STATS = ("pts", "reb", "ast", "stl", "blk", "tov", "fgm", "fga", "threes_made", "threes_attempted",
             "ftm", "fta")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass
class Season:
    box: list[dict[str, str]]
    logs: list[dict[str, str]]
    props: list[dict[str, str]]
    team_by_nickname: dict[str, str]
    resolver: PlayerResolver
    logged_teams: dict[int, tuple[list[date], list[str]]] = field(default_factory=dict)

    def team_as_of(self, person_id: int, day: date) -> str | None:
        dates, teams = self.logged_teams.get(person_id, ([], []))
        index = bisect_right(dates, day)
        return teams[index - 1] if index else None


def registry_rows(players: list[dict[str, str]], logs: list[dict[str, str]]):
    """The registry of every date at once: an undated row per person (no team), plus a dated
    row whenever a logged player's team changes. `team_as_of(D)` then answers exactly what
    the registry served for D would say."""
    stints: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for log in sorted(logs, key=lambda r: r["date"]):
        person_id, team = int(log["player_id"]), log["matchup"][:3]
        if not stints[person_id] or stints[person_id][-1][1] != team:
            stints[person_id].append((date.fromisoformat(log["date"]), team))
    rows = []
    for player in players:
        person_id = int(player["id"])
        base = {"person_id": person_id, "full_name": player["full_name"], "is_active": player["is_active"] == "True"}
        rows.append({**base, "team_abbr": None})
        rows.extend({**base, "team_abbr": team, "as_of_date": day} for day, team in stints.get(person_id, []))
    logged = {pid: ([d for d, _ in s], [t for _, t in s]) for pid, s in stints.items()}
    return rows, logged


@pytest.fixture(scope="module")
def season(data_dir: Path) -> Season:
    players = read(data_dir / "nba-api-static" / "players.csv")
    logs = read(data_dir / "nba-team-game-logs" / "player_game_logs_2024_25.csv")
    rows, logged = registry_rows(players, logs)
    return Season(box=read(data_dir / "nba-kbraj9-playerstats-2024-25" / "player_box_2024_25.csv"), logs=logs,
                  props=read(data_dir / "nba-team-game-logs" / "props_player_threes_2024-25_oct-nov.csv"),
                  team_by_nickname={t["nickname"]: t["abbreviation"]
                                    for t in read(data_dir / "nba-api-static" / "teams.csv")},
                  resolver=PlayerResolver(rows), logged_teams=logged)


@pytest.fixture(scope="module")
def box_resolutions(season: Season) -> list[tuple[dict[str, str], str, Resolution]]:
    resolved = []
    for row in season.box:
        team = season.team_by_nickname[row["playerteamName"]]
        resolved.append((row, team, season.resolver.resolve(row["firstName"], team,
                                                            date.fromisoformat(row["gameDate"]))))
    return resolved


def test_box_scores_resolve_at_least_995_per_mille(box_resolutions):
    methods = Counter(r.method for _, _, r in box_resolutions)
    quarantined = Counter((row["firstName"], r.method) for row, _, r in box_resolutions if not r.resolved)
    share = sum(r.resolved for _, _, r in box_resolutions) / len(box_resolutions)
    print(f"\nbox-score rows: {len(box_resolutions)}, resolved {share:.4%}; by method {dict(methods)}")
    print(f"quarantined by reason: {dict(Counter(method for _, method in quarantined.elements()))}; "
          f"names: {dict(quarantined)}")
    assert share >= 0.995


def test_no_box_score_row_gets_a_wrong_id(season, box_resolutions):
    by_line: dict[tuple, list[Resolution]] = defaultdict(list)
    for row, team, resolution in box_resolutions:
        by_line[(row["gameDate"], team, *(int(row[s]) for s in BOX_STATS))].append(resolution)
    checked, wrong, shared_lines, unmatched = 0, [], 0, 0
    for log in season.logs:
        candidates = by_line.get((log["date"], log["matchup"][:3], *(int(log[s]) for s in LOG_STATS)), [])
        if not candidates:
            unmatched += 1
        elif len(candidates) > 1:
            shared_lines += 1
        elif candidates[0].resolved:
            checked += 1
            if candidates[0].person_id != int(log["player_id"]):
                wrong.append((log["player"], log["date"], int(log["player_id"]), candidates[0].person_id))
    print(f"\nid-bearing log rows: {len(season.logs)}; checked {checked}, wrong ids {len(wrong)}, "
          f"stat line shared within a team-game {shared_lines}, no box row (missing games) {unmatched}")
    assert checked > 0.95 * len(season.logs)
    assert wrong == []


def test_the_hard_names_resolve_to_the_logged_ids(season, box_resolutions):
    """The cases normalisation, suffixes, aliases and team disambiguation exist for."""
    logged_id = {log["player"]: int(log["player_id"]) for log in season.logs}
    ids = {row["firstName"]: r.person_id for row, _, r in box_resolutions}
    # (box-score spelling, log spelling): the registry spells them "Luka Dončić", "Kristaps
    # Porziņģis", "Jimmy Butler III", "Brandon Boston", "KJ Martin", and has two of each Williams/Davis.
    for box_name, log_name in [("Luka Doncic", "Luka Doncic"), ("Kristaps Porzingis", "Kristaps Porzingis"),
                               ("Jimmy Butler", "Jimmy Butler"), ("Brandon Boston Jr.", "Brandon Boston Jr."),
                               ("Kenyon Martin Jr.", "KJ Martin"), ("ga Bitadze", "Goga Bitadze"),
                               ("Nate Williams", "Nate Williams"), ("Johnny Davis", "Johnny Davis")]:
        assert ids[box_name] == logged_id[log_name], box_name


def test_prop_line_names_resolve(season):
    """Prop names (e.g. "Jabari Smith Jr" without the period) resolve without a team; a resolved
    player the logs place on a team that is not in the prop's game would be a wrong id."""
    nickname_of = sorted(season.team_by_nickname, key=len, reverse=True)

    def abbr(team_name: str) -> str:
        return season.team_by_nickname[next(n for n in nickname_of if team_name.endswith(n))]

    methods: Counter[str] = Counter()
    unresolved: Counter[str] = Counter()
    contradicted = []
    for prop in season.props:
        day = date.fromisoformat(prop["file_date"])
        resolution = season.resolver.resolve(prop["player"], None, day)
        methods[resolution.method] += 1
        if not resolution.resolved:
            unresolved[prop["player"]] += 1
            continue
        logged_team = season.team_as_of(resolution.person_id, day)
        game_teams = {abbr(side) for side in prop["game"].split(" @ ")}
        if logged_team is not None and logged_team not in game_teams:
            contradicted.append((prop["player"], prop["file_date"], logged_team, prop["game"]))
    share = 1 - sum(unresolved.values()) / len(season.props)
    jabari = season.resolver.resolve("Jabari Smith Jr")
    print(f"\nprop lines: {len(season.props)}, resolved {share:.4%}; by method {dict(methods)}; "
          f"unresolved names {dict(unresolved)}; contradicted by the logged team {len(contradicted)}")
    assert (jabari.person_id, jabari.method) == (1631095, "normalised")
    assert share >= 0.995
    assert contradicted == []
