"""Retrosheet game logs (the layout of ../shared/data/retrosheet-gamelogs): one game per row.

The line score has one character per inning, "(10)" for double digits and "x" for an inning the
team did not bat; `{side}_strikeouts` are that side's *batters* struck out, i.e. the opposing
pitchers' strikeouts.
"""
from __future__ import annotations

import csv
import re
from datetime import date, datetime
from pathlib import Path

from shared.validation.games import GameFacts, game_id

_INNING = re.compile(r"\((\d+)\)|(\d)|(x)")


def parse_line_score(text: str) -> tuple[int | None, ...]:
    innings: list[int | None] = []
    position = 0
    for match in _INNING.finditer(text):
        if match.start() != position:
            raise ValueError(f"bad line score {text!r} at {position}")
        position = match.end()
        wide, digit, did_not_bat = match.groups()
        innings.append(None if did_not_bat else int(wide or digit))
    if position != len(text):
        raise ValueError(f"bad line score {text!r}")
    return tuple(innings)


def facts_of_row(row: dict[str, str]) -> GameFacts:
    day = datetime.strptime(row["date"], "%Y%m%d").date()
    return GameFacts(
        game_id=game_id(row["home_team"], day, int(row["game_number"])),
        game_date=day, home=row["home_team"], away=row["visiting_team"],
        home_runs=int(row["home_score"]), away_runs=int(row["visiting_score"]),
        home_innings=parse_line_score(row["home_line_score"]),
        away_innings=parse_line_score(row["visiting_line_score"]),
        home_pitching_strikeouts=int(row["visiting_strikeouts"]),
        away_pitching_strikeouts=int(row["home_strikeouts"]),
    )


def game_log_file(path: Path, season: int | None = None) -> Path:
    """`path` itself, or the season's file in a directory (gl2024.csv; data root or its folder)."""
    path = Path(path)
    if path.is_file():
        return path
    for candidate in (path / f"gl{season}.csv", path / "retrosheet-gamelogs" / f"gl{season}.csv"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no Retrosheet game log for {season} under {path} (expected gl{season}.csv)")


def read_game_log(path: Path) -> list[GameFacts]:
    with Path(path).open(newline="", encoding="utf-8") as file:
        return [facts_of_row(row) for row in csv.DictReader(file)]


def games_by_date(games: list[GameFacts]) -> dict[date, list[GameFacts]]:
    days: dict[date, list[GameFacts]] = {}
    for game in games:
        days.setdefault(game.game_date, []).append(game)
    return dict(sorted(days.items()))
