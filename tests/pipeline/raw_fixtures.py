"""Raw (Phase 2) tables for Phase 3/4 tests: their TableSpecs and a small synthetic league."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.pipeline.phase2 import tables as raw_tables
from shared.ports.warehouse import TableSpec, Warehouse

RAW: dict[str, TableSpec] = {
    "schedule": raw_tables.SCHEDULE,
    "player_boxscores": raw_tables.PLAYER_BOXSCORES,
    "team_boxscores": raw_tables.TEAM_BOXSCORES,
    "player_registry": raw_tables.PLAYER_REGISTRY,
    "prop_lines": raw_tables.PROP_LINES,
    "injury_report": raw_tables.INJURY_REPORT,
}
TEAMS = ("ATL", "BOS", "BKN", "CHA", "CHI", "CLE", "DAL", "DEN", "DET", "GSW", "HOU", "IND", "LAC", "LAL",
         "MEM", "MIA", "MIL", "MIN", "NOP", "NYK", "OKC", "ORL", "PHI", "PHX", "POR", "SAC", "SAS", "TOR",
         "UTA", "WAS")
_PROVENANCE = {"source": "synthetic", "payload_sha256": "0" * 64}


def team_id(abbr: str) -> int:
    return 1610612700 + TEAMS.index(abbr)


def player_id(abbr: str, slot: int) -> int:
    return 1000 + 100 * TEAMS.index(abbr) + slot


@dataclass
class RawDay:
    """The raw rows of one date, table name → rows."""
    day: date
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in RAW})

    def load(self, warehouse: Warehouse) -> None:
        for name, spec in RAW.items():
            warehouse.ensure_dataset(spec.dataset)
            warehouse.ensure_table(spec)
            rows = [{**_PROVENANCE, **row} for row in self.rows[name]]
            warehouse.replace_partition(spec, self.day, rows)


def schedule_row(day: date, game_id: str, home: str, away: str) -> dict[str, Any]:
    return {"game_date": day, "game_id": game_id, "start_time_utc": datetime.combine(day, time(0), UTC),
            "home_team_id": team_id(home), "home_team_abbr": home, "away_team_id": team_id(away),
            "away_team_abbr": away, "season_type": "regular"}


def team_row(day: date, game_id: str, team: str, opponent: str, is_home: bool, won: bool, **stats: Any
             ) -> dict[str, Any]:
    return {"game_date": day, "game_id": game_id, "team_id": team_id(team), "team_abbr": team,
            "opponent_abbr": opponent, "is_home": is_home, "won": won, "plus_minus": 0.0, **stats}


def player_row(day: date, game_id: str, pid: int, team: str, opponent: str, is_home: bool, won: bool,
               **stats: Any) -> dict[str, Any]:
    return {"game_date": day, "game_id": game_id, "player_id": pid, "player_name": f"Player {pid}",
            "team_abbr": team, "opponent_abbr": opponent, "is_home": is_home, "won": won,
            "resolution_method": "exact", **stats}


def registry_rows(day: date, teams: tuple[str, ...] = TEAMS, players_per_team: int = 12) -> list[dict[str, Any]]:
    return [{"as_of_date": day, "person_id": player_id(t, s), "full_name": f"Player {player_id(t, s)}",
             "first_name": "Player", "last_name": str(player_id(t, s)), "is_active": True, "team_abbr": t}
            for t in teams for s in range(players_per_team)]


class SyntheticLeague:
    """A deterministic league: each day `games_per_day` games between distinct teams, every
    team box score the sum of its players' (so usage, pace and ratings are consistent)."""

    def __init__(self, seed: int = 7, games_per_day: int = 10, players_per_team: int = 12) -> None:
        self.random = random.Random(seed)
        self.games_per_day = games_per_day
        self.players_per_team = players_per_team

    def day(self, day: date, *, with_results: bool = True) -> RawDay:
        raw = RawDay(day)
        teams = list(TEAMS)
        self.random.shuffle(teams)
        for index in range(self.games_per_day):
            home, away = teams[2 * index], teams[2 * index + 1]
            game_id = f"G{day:%Y%m%d}{index:02d}"
            raw.rows["schedule"].append(schedule_row(day, game_id, home, away))
            if with_results:
                self._play(raw, game_id, home, away)
        raw.rows["player_registry"] = registry_rows(day, players_per_team=self.players_per_team)
        raw.rows["prop_lines"] = self._props(raw)
        return raw

    def _play(self, raw: RawDay, game_id: str, home: str, away: str) -> None:
        lines = {team: self._players(team) for team in (home, away)}
        points = {team: sum(p["points"] for p in lines[team]) for team in lines}
        if points[home] == points[away]:
            lines[home][0]["ftm"] += 1
            lines[home][0]["fta"] += 1
            lines[home][0]["points"] += 1
            points[home] += 1
        for team, opponent, is_home in ((home, away, True), (away, home, False)):
            won = points[team] > points[opponent]
            for stats in lines[team]:
                pid = stats.pop("player_id")
                raw.rows["player_boxscores"].append(
                    player_row(raw.day, game_id, pid, team, opponent, is_home, won, **stats))
            raw.rows["team_boxscores"].append(team_row(raw.day, game_id, team, opponent, is_home, won,
                                                       **self._team_totals(lines[team])))

    def _players(self, team: str) -> list[dict[str, Any]]:
        slots = range(self.players_per_team - self.random.randint(0, 2))
        weights = [self.random.uniform(0.3, 1.0) * (1.6 if s < 5 else 1.0) for s in slots]
        scale = 240 / sum(weights)
        rows = []
        for slot, weight in zip(slots, weights):
            minutes = round(weight * scale, 1)
            fg3a = self.random.randint(0, int(minutes / 5))
            fg2a = self.random.randint(0, int(minutes / 3))
            fg3m = sum(self.random.random() < 0.36 for _ in range(fg3a))
            fg2m = sum(self.random.random() < 0.52 for _ in range(fg2a))
            fta = self.random.randint(0, int(minutes / 6))
            ftm = sum(self.random.random() < 0.78 for _ in range(fta))
            rows.append({"player_id": player_id(team, slot), "minutes": minutes,
                         "points": 3 * fg3m + 2 * fg2m + ftm, "rebounds": self.random.randint(0, int(minutes / 4)),
                         "assists": self.random.randint(0, int(minutes / 6)), "steals": self.random.randint(0, 2),
                         "blocks": self.random.randint(0, 2), "turnovers": self.random.randint(0, 3),
                         "fgm": fg2m + fg3m, "fga": fg2a + fg3a, "fg3m": fg3m, "fg3a": fg3a,
                         "ftm": ftm, "fta": fta})
        return rows

    def _team_totals(self, players: list[dict[str, Any]]) -> dict[str, Any]:
        total = {s: sum(p[s] for p in players) for s in ("points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")}
        rebounds = sum(p["rebounds"] for p in players)
        oreb = rebounds // 4
        return {**total, "minutes": 240, "oreb": oreb, "dreb": rebounds - oreb, "reb": rebounds,
                "ast": sum(p["assists"] for p in players), "stl": sum(p["steals"] for p in players),
                "blk": sum(p["blocks"] for p in players), "tov": sum(p["turnovers"] for p in players), "pf": 20}

    def _props(self, raw: RawDay) -> list[dict[str, Any]]:
        rows = []
        for game in raw.rows["schedule"]:
            for team in (game["home_team_abbr"], game["away_team_abbr"]):
                for slot in range(3):
                    pid = player_id(team, slot)
                    for bookmaker, shift in (("book_a", 0.0), ("book_b", 1.0)):
                        rows.append({"game_date": raw.day, "player_name": f"Player {pid}", "player_id": pid,
                                     "game": f"{game['away_team_abbr']} @ {game['home_team_abbr']}",
                                     "game_time_utc": game["start_time_utc"], "market": "player_points",
                                     "line": 14.5 + slot + shift, "bookmaker": bookmaker,
                                     "over_odds": -110, "under_odds": -110})
        return rows


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


# ---- running processors on local adapters --------------------------------------------------

def local_services(tmp_path):  # -> Services
    from shared.adapters.local.bus import LocalBus
    from shared.adapters.local.documents import SqliteDocumentStore
    from shared.adapters.local.evidence import FileEvidenceStore
    from shared.adapters.local.warehouse import DuckDBWarehouse
    from shared.bootstrap import Services
    from shared.config import Settings
    return Services.with_adapters(Settings(home=tmp_path), warehouse=DuckDBWarehouse(":memory:"),
                                  documents=SqliteDocumentStore(":memory:"),
                                  evidence=FileEvidenceStore(tmp_path / "ev"), bus=LocalBus())


class Runner:
    """Runs processors for a date the way run_processor does, recording what they publish.
    Each run gets a fresh run key suffix when `fresh` so a rerun really recomputes."""

    def __init__(self, services) -> None:
        self.services = services
        self.published: list[tuple[str, Any]] = []
        self._runs = 0

    def run(self, processors, day: date, names: tuple[str, ...] | None = None) -> dict[str, int]:
        from shared.pipeline.processor import (
            ProcessorContext,
            ensure_tables,
            run_processor,
        )
        ensure_tables(self.services, list(processors.values()))
        self._runs += 1
        ctx = ProcessorContext(services=self.services, analysis_date=day, run_id=f"run{self._runs}",
                               correlation_id="test", publish=lambda topic, msg: self.published.append((topic, msg)))
        return {name: run_processor(processors[name], ctx).records for name in (names or tuple(processors))}

    def rerun(self, processors, day: date, names: tuple[str, ...] | None = None) -> dict[str, int]:
        """Forget earlier successes for `day` (as a manual reprocess would), then run."""
        from shared.pipeline.run_history import run_path
        for name in names or tuple(processors):
            self.services.documents.delete(run_path(name, day.isoformat()))
        return self.run(processors, day, names)

    def rows(self, spec: TableSpec, day: date) -> list[dict[str, Any]]:
        keys = ", ".join(f.name for f in spec.fields)
        return self.services.warehouse.query(
            f"SELECT * FROM {spec.qualified_name} WHERE {spec.partition_field} = @d ORDER BY {keys}", {"d": day})
