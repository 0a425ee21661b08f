"""A replay folder for a made-up season (2031-32), written with other file names and a manifest.

    folder = write_made_up_season(tmp_path / "replay")      # -> tmp_path/replay, with replay.json
    folder = write_made_up_season(tmp_path / "r", box_score_change=(D, 7))  # D's points + 7 each, a debut

Four teams play two games a day for `DAYS`; eight players a team, 240 minutes a team, team
rows the sums of their players' rows. No id-bearing player logs: rosters come from the box
scores. One person on D is in no registry ("Nobody Known"), so the identity review has a row.
Prop lines are offered on D only. `box_score_change` changes D's box scores only: more points
for everyone, and a debut (a registered person who plays on D and never before or after).
`absences` (player name -> dates) leaves a player out of his team's box scores on those dates,
his 30 minutes going to three teammates (the team rows stay the sums of the player rows).
"""
from __future__ import annotations

import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path

from shared.providers import teams

FIRST_DAY = date(2031, 10, 21)
DAYS = [FIRST_DAY + timedelta(days=k) for k in range(6)]
D = DAYS[3]
TEAMS = ("BOS", "NYK", "LAL", "GSW")
PLAYERS_PER_TEAM = 8
UNKNOWN_PLAYER = "Nobody Known"
DEBUTANT = "Zed Newman"  # in the registry; plays only on D, and only in the changed folder
DEBUTANT_ID = 9_199_999
_FIRST = ("Ava", "Ben", "Cal", "Dov", "Eli", "Fay", "Gus", "Hal")
_LAST = ("Stone", "Marsh", "Quill", "Thorn")

TEAM_COLUMNS = ("SEASON_ID", "TEAM_ID", "TEAM_ABBREVIATION", "TEAM_NAME", "GAME_ID", "GAME_DATE", "MATCHUP", "WL",
                "MIN", "PTS", "FGM", "FGA", "FG_PCT", "FG3M", "FG3A", "FG3_PCT", "FTM", "FTA", "FT_PCT", "OREB", "DREB",
                "REB", "AST", "STL", "BLK", "TOV", "PF", "PLUS_MINUS", "SEASON")
BOX_COLUMNS = ("firstName", "gameDate", "playerteamName", "opponentteamName", "win", "home", "MP", "PTS", "AST",
               "BLK", "STL", "FGA", "FG", "FG%", "3PA", "3PM", "3P%", "FTA", "FTM", "FT%", "TRB", "TOV")
PROP_COLUMNS = ("file_date", "player", "game", "game_time", "market", "line", "bookmaker", "over_odds", "under_odds")


def person_id(team: str, k: int) -> int:
    return 9_100_000 + TEAMS.index(team) * 100 + k


def player_name(team: str, k: int) -> str:
    return f"{_FIRST[k]} {_LAST[TEAMS.index(team)]}"


def write_made_up_season(folder: Path, *, box_score_change: tuple[date, int] | None = None,
                         absences: dict[str, tuple[date, ...]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2031)
    team_rows, box_rows, prop_rows = [], [], []
    for day_index, day in enumerate(DAYS):
        pairs = ((TEAMS[0], TEAMS[1]), (TEAMS[2], TEAMS[3])) if day_index % 2 == 0 else \
            ((TEAMS[1], TEAMS[2]), (TEAMS[3], TEAMS[0]))
        for game_index, (away, home) in enumerate(pairs):
            game_id = f"00231{day_index:03d}{game_index:02d}"
            lines = {team: _player_lines(rng, team, day, box_score_change) for team in (home, away)}
            if day == D:
                lines[home][-1] = {**lines[home][-1], "name": UNKNOWN_PLAYER}
                if box_score_change:
                    lines[away][-1] = {**lines[away][-1], "name": DEBUTANT}
            offered = {team: lines[team][:3] for team in lines}  # the props do not know who sits out
            for team in lines:
                lines[team] = _without_absent(lines[team], day, absences or {})
            points = {team: sum(p["PTS"] for p in lines[team]) for team in lines}
            if points[home] == points[away]:
                lines[home][0]["PTS"] += 1
                lines[home][0]["FTM"] += 1
                lines[home][0]["FTA"] += 1
                points[home] += 1
            for team, opponent, is_home in ((home, away, True), (away, home, False)):
                won = points[team] > points[opponent]
                team_rows.append(_team_row(team, opponent, is_home, won, game_id, day, lines[team],
                                           points[team] - points[opponent]))
                box_rows += [_box_row(p, day, team, opponent, is_home, won) for p in lines[team]]
                if day == D:
                    prop_rows += [_prop_row(p, day, away, home, rng) for p in offered[team]]
    names = {"people": "people.csv", "teams": "games_by_team.csv", "box": "box.csv", "lines": "lines.csv"}
    _write(folder / names["teams"], TEAM_COLUMNS, team_rows)
    _write(folder / names["box"], BOX_COLUMNS, box_rows)
    _write(folder / names["lines"], PROP_COLUMNS, prop_rows)
    people = [{"id": person_id(t, k), "last_name": _LAST[TEAMS.index(t)], "first_name": _FIRST[k],
               "full_name": player_name(t, k), "is_active": "True"} for t in TEAMS for k in range(PLAYERS_PER_TEAM)]
    people.append({"id": DEBUTANT_ID, "last_name": "Newman", "first_name": "Zed", "full_name": DEBUTANT,
                   "is_active": "False"})
    _write(folder / names["people"], ("id", "last_name", "first_name", "full_name", "is_active"), people)
    (folder / "replay.json").write_text(json.dumps({
        "players": names["people"], "team_game_logs": [names["teams"]], "player_box_scores": [names["box"]],
        "player_game_logs": [], "prop_lines": [names["lines"]]}))
    return folder


def _player_lines(rng: random.Random, team: str, day: date, change: tuple[date, int] | None) -> list[dict]:
    lines = []
    for k in range(PLAYERS_PER_TEAM):
        fg3a = rng.randint(0, 6)
        fg3m = rng.randint(0, fg3a)
        fga = fg3a + rng.randint(2, 10)
        fgm = fg3m + rng.randint(0, fga - fg3a)
        fta = rng.randint(0, 6)
        ftm = rng.randint(0, fta)
        line = {"name": player_name(team, k), "MP": 30.0, "FGA": fga, "FG": fgm, "3PA": fg3a, "3PM": fg3m,
                "FTA": fta, "FTM": ftm, "PTS": 2 * (fgm - fg3m) + 3 * fg3m + ftm, "AST": rng.randint(0, 8),
                "TRB": rng.randint(0, 10), "STL": rng.randint(0, 3), "BLK": rng.randint(0, 2), "TOV": rng.randint(0, 4)}
        if change and change[0] == day:  # the same number of shots, more of them made
            bonus = min(change[1], line["FTA"] - line["FTM"] + 3)
            line["FTA"] += 3
            line["FTM"] += bonus
            line["PTS"] += bonus
        lines.append(line)
    return lines


def _without_absent(lines: list[dict], day: date, absences: dict[str, tuple[date, ...]]) -> list[dict]:
    kept = [line for line in lines if day not in absences.get(line["name"], ())]
    for _ in range(len(lines) - len(kept)):  # the absent player's 30 minutes, 10 each to three others
        for line in sorted(kept, key=lambda line: line["MP"])[:3]:
            line["MP"] += 10.0
    return kept


def _team_row(team, opponent, is_home, won, game_id, day, lines, margin) -> dict:
    total = {c: sum(p[c] for p in lines) for c in ("PTS", "FG", "FGA", "3PM", "3PA", "FTM", "FTA", "AST", "TRB",
                                                     "STL", "BLK", "TOV")}
    dreb = total["TRB"] * 3 // 4
    return {"SEASON_ID": "22031", "TEAM_ID": teams.by_abbr(team).team_id, "TEAM_ABBREVIATION": team,
            "TEAM_NAME": teams.by_abbr(team).full_name, "GAME_ID": game_id, "GAME_DATE": day.isoformat(),
            "MATCHUP": f"{team} vs. {opponent}" if is_home else f"{team} @ {opponent}", "WL": "W" if won else "L",
            "MIN": 240, "PTS": total["PTS"], "FGM": total["FG"], "FGA": total["FGA"], "FG_PCT": 0.5,
            "FG3M": total["3PM"], "FG3A": total["3PA"], "FG3_PCT": 0.3, "FTM": total["FTM"], "FTA": total["FTA"],
            "FT_PCT": 0.7, "OREB": total["TRB"] - dreb, "DREB": dreb, "REB": total["TRB"], "AST": total["AST"],
            "STL": total["STL"], "BLK": total["BLK"], "TOV": total["TOV"], "PF": 18, "PLUS_MINUS": float(margin),
            "SEASON": "2031-32"}


def _box_row(p: dict, day, team, opponent, is_home, won) -> dict:
    return {"firstName": p["name"], "gameDate": day.isoformat(), "playerteamName": teams.by_abbr(team).nickname,
            "opponentteamName": teams.by_abbr(opponent).nickname, "win": int(won), "home": int(is_home),
            "MP": p["MP"], "PTS": p["PTS"], "AST": p["AST"], "BLK": p["BLK"], "STL": p["STL"], "FGA": p["FGA"],
            "FG": p["FG"], "FG%": 0.5, "3PA": p["3PA"], "3PM": p["3PM"], "3P%": 0.3, "FTA": p["FTA"],
            "FTM": p["FTM"], "FT%": 0.7, "TRB": p["TRB"], "TOV": p["TOV"]}


def _prop_row(p: dict, day, away, home, rng) -> dict:
    return {"file_date": day.isoformat(), "player": p["name"],
            "game": f"{teams.by_abbr(away).full_name} @ {teams.by_abbr(home).full_name}",
            "game_time": f"{day.isoformat()}T23:30:00Z", "market": "player_points", "line": 10.5,
            "bookmaker": "madeupbook", "over_odds": -110, "under_odds": -110 + rng.randint(-5, 5)}


def _write(path: Path, columns, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
