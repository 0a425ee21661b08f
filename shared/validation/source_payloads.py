"""The two result sources' payload shapes, and how each is read back into `GameFacts`.

- `espn`: an ESPN-like scoreboard — `events[].competitions[0].competitors[]` with `homeAway`,
  `team.abbreviation`, `score` as a string, `linescores[].value` (`displayValue` "X" for an inning
  the team did not bat) and a `strikeouts` statistic (that team's *batters*);
- `mlb`: an MLB-Stats-like schedule — `dates[].games[]` with `gamePk`, `gameNumber`,
  `teams.{home,away}.team.id`, integer scores, `linescore.innings[].{home,away}.runs` (absent when
  the team did not bat) and `boxscore.teams.{side}.teamStats.pitching.strikeOuts`.

`render_*` build a payload from facts (the replay server); `read_*` parse one back, raising
`PayloadUnreadable` for an entry they cannot trust.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any, Iterable

from shared.validation.games import GameFacts, game_id
from shared.validation.teams import BY_ESPN, BY_MLB_ID, BY_RETRO

SOURCES = ("espn", "mlb")


class PayloadUnreadable(ValueError):
    pass


def _start_time(day: date, game_number: int) -> str:
    hour = 23 if game_number == 2 else 17
    return datetime.combine(day, time(hour, 5), tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


def _game_number(facts: GameFacts) -> int:
    return int(facts.game_id[-1])


def _espn_event_id(facts: GameFacts) -> str:
    return f"4015{facts.game_date:%m%d}{BY_RETRO[facts.home].mlb_id:03d}{_game_number(facts)}"


# --- ESPN-like -------------------------------------------------------------------------------
def render_espn_event(facts: GameFacts) -> dict[str, Any]:
    def competitor(side: str) -> dict[str, Any]:
        team = BY_RETRO[facts.home if side == "home" else facts.away]
        batting_strikeouts = facts.pitching_strikeouts("away" if side == "home" else "home")
        return {
            "homeAway": side, "winner": facts.runs(side) > facts.runs("away" if side == "home" else "home"),
            "team": {"abbreviation": team.espn, "displayName": team.name},
            "score": str(facts.runs(side)),
            # An inning not batted is shown as "X"; an away inning without runs is simply missing.
            "linescores": [{"value": float(runs), "displayValue": str(runs)} if runs is not None
                           else {"displayValue": "X"} for runs in facts.innings(side)
                           if runs is not None or side == "home"],
            "statistics": [{"name": "strikeouts", "abbreviation": "K", "displayValue": str(batting_strikeouts)}],
        }
    state = ("STATUS_FINAL", True, "post") if facts.final else ("STATUS_IN_PROGRESS", False, "in")
    return {
        "id": _espn_event_id(facts), "date": _start_time(facts.game_date, _game_number(facts)),
        "name": f"{BY_RETRO[facts.away].name} at {BY_RETRO[facts.home].name}",
        "status": {"type": {"name": state[0], "completed": state[1], "state": state[2]}},
        "competitions": [{"id": _espn_event_id(facts), "competitors": [competitor("home"), competitor("away")]}],
    }


def render_espn(day: date, games: Iterable[GameFacts]) -> dict[str, Any]:
    return {"day": {"date": day.isoformat()}, "events": [render_espn_event(g) for g in games]}


def espn_entries(payload: dict[str, Any], day: date) -> dict[str, dict[str, Any]]:
    """Game id -> event. ESPN has no game number: a doubleheader's games are told apart by start time."""
    events = payload.get("events") or []
    by_home: dict[str, list[dict]] = {}
    for event in events:
        try:
            home = next(c for c in event["competitions"][0]["competitors"] if c["homeAway"] == "home")
            by_home.setdefault(BY_ESPN[home["team"]["abbreviation"]].retro, []).append(event)
        except (KeyError, IndexError, StopIteration, TypeError):
            continue  # unreadable events are reported by read_espn_event when validated
    entries = {}
    for home, games in by_home.items():
        games.sort(key=lambda e: e.get("date", ""))
        for number, event in enumerate(games, start=1):
            entries[game_id(home, day, 0 if len(games) == 1 else number)] = event
    return entries


def read_espn_event(event: dict[str, Any], gid: str, day: date) -> GameFacts:
    try:
        competitors = {c["homeAway"]: c for c in event["competitions"][0]["competitors"]}
        home, away = competitors["home"], competitors["away"]
        innings = {side: [None if s.get("displayValue") == "X" else int(s["value"]) for s in c.get("linescores", [])]
                   for side, c in competitors.items()}
        strikeouts = {side: int(next(s["displayValue"] for s in c["statistics"] if s["name"] == "strikeouts"))
                      for side, c in competitors.items()}
        return GameFacts(
            game_id=gid, game_date=day, home=BY_ESPN[home["team"]["abbreviation"]].retro,
            away=BY_ESPN[away["team"]["abbreviation"]].retro,
            home_runs=int(home["score"]), away_runs=int(away["score"]),
            home_innings=tuple(innings["home"]), away_innings=tuple(innings["away"]),
            home_pitching_strikeouts=strikeouts["away"], away_pitching_strikeouts=strikeouts["home"],
            final=bool(event["status"]["type"]["completed"]),
        )
    except (KeyError, IndexError, StopIteration, TypeError, ValueError) as error:
        raise PayloadUnreadable(f"espn event {event.get('id') if isinstance(event, dict) else '?'}: "
                                f"{type(error).__name__} {error}") from None


# --- MLB-Stats-like --------------------------------------------------------------------------
def render_mlb_game(facts: GameFacts) -> dict[str, Any]:
    number = _game_number(facts)

    def team(side: str) -> dict[str, Any]:
        club = BY_RETRO[facts.home if side == "home" else facts.away]
        return {"team": {"id": club.mlb_id, "name": club.name}, "score": facts.runs(side),
                "isWinner": facts.runs(side) > facts.runs("away" if side == "home" else "home")}

    innings = []
    for index, (home_runs, away_runs) in enumerate(zip(facts.home_innings, facts.away_innings), start=1):
        innings.append({"num": index, "away": {"runs": away_runs},
                        "home": {} if home_runs is None else {"runs": home_runs}})
    return {
        "gamePk": 745000 + int(f"{facts.game_date:%j}") * 40 + BY_RETRO[facts.home].mlb_id % 40 + number,
        "gameDate": _start_time(facts.game_date, number), "officialDate": facts.game_date.isoformat(),
        "doubleHeader": "N" if number == 0 else "Y", "gameNumber": max(number, 1),
        "status": {"abstractGameState": "Final" if facts.final else "Live",
                   "codedGameState": "F" if facts.final else "I"},
        "teams": {"away": team("away"), "home": team("home")},
        "linescore": {"currentInning": len(innings), "innings": innings},
        "boxscore": {"teams": {side: {"teamStats": {"pitching": {"strikeOuts": facts.pitching_strikeouts(side)}}}
                               for side in ("home", "away")}},
    }


def render_mlb(day: date, games: Iterable[GameFacts]) -> dict[str, Any]:
    games = list(games)
    return {"totalGames": len(games),
            "dates": [{"date": day.isoformat(), "games": [render_mlb_game(g) for g in games]}]}


def mlb_entries(payload: dict[str, Any], day: date) -> dict[str, dict[str, Any]]:
    entries = {}
    for block in payload.get("dates") or []:
        for game in block.get("games") or []:
            try:
                home = BY_MLB_ID[game["teams"]["home"]["team"]["id"]].retro
                number = 0 if game.get("doubleHeader") == "N" else int(game["gameNumber"])
            except (KeyError, TypeError, ValueError):
                continue
            entries[game_id(home, day, number)] = game
    return entries


def read_mlb_game(game: dict[str, Any], gid: str, day: date) -> GameFacts:
    try:
        innings = game["linescore"]["innings"]
        stats = game["boxscore"]["teams"]
        return GameFacts(
            game_id=gid, game_date=day, home=BY_MLB_ID[game["teams"]["home"]["team"]["id"]].retro,
            away=BY_MLB_ID[game["teams"]["away"]["team"]["id"]].retro,
            home_runs=int(game["teams"]["home"]["score"]), away_runs=int(game["teams"]["away"]["score"]),
            home_innings=tuple(i["home"].get("runs") for i in innings),
            away_innings=tuple(i["away"].get("runs") for i in innings),
            home_pitching_strikeouts=int(stats["home"]["teamStats"]["pitching"]["strikeOuts"]),
            away_pitching_strikeouts=int(stats["away"]["teamStats"]["pitching"]["strikeOuts"]),
            final=game["status"]["abstractGameState"] == "Final",
        )
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise PayloadUnreadable(f"mlb game {game.get('gamePk') if isinstance(game, dict) else '?'}: "
                                f"{type(error).__name__} {error}") from None


RENDER = {"espn": render_espn, "mlb": render_mlb}
ENTRIES = {"espn": espn_entries, "mlb": mlb_entries}
READ = {"espn": read_espn_event, "mlb": read_mlb_game}
ROUTES = {"espn": "/apis/site/v2/sports/baseball/mlb/scoreboard", "mlb": "/api/v1/schedule"}
