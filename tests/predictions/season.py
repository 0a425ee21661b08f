"""A small seeded season written straight into the two tables the prediction systems read
(nba_precompute.ml_feature_store_v2 and nba_analytics.player_game_summary): players with a
latent level per market, outcomes drawn around it, features computed from the games before
each date like Phase 4 does. Fast enough to train all five systems in a few seconds."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from shared.pipeline.phase2.tables import PROP_LINES
from shared.pipeline.phase3.tables import PLAYER_GAME_SUMMARY
from shared.pipeline.phase4.ml_feature_store_v2 import feature_row
from shared.pipeline.phase4.tables import ML_FEATURE_STORE_V2
from shared.ports.warehouse import Warehouse

FIRST_DAY = date(2024, 11, 1)
TEAMS = ("BOS", "NYK", "LAL", "DEN", "MIA", "PHX")


@dataclass(frozen=True)
class SmallSeason:
    days: tuple[date, ...]
    players: int

    def day(self, index: int) -> date:
        return self.days[index]


def write_season(warehouse: Warehouse, *, days: int = 30, players: int = 48, seed: int = 11) -> SmallSeason:
    rng = np.random.default_rng(seed)
    levels = {"points": rng.uniform(4, 26, players), "rebounds": rng.uniform(1.5, 10, players),
              "assists": rng.uniform(0.8, 7, players), "threes": rng.uniform(0.2, 3.2, players)}
    minutes_level = rng.uniform(14, 36, players)
    for spec in (ML_FEATURE_STORE_V2, PLAYER_GAME_SUMMARY, PROP_LINES):
        warehouse.ensure_dataset(spec.dataset)
        warehouse.ensure_table(spec)
    past: dict[int, list[dict]] = {p: [] for p in range(players)}
    dates = tuple(FIRST_DAY + timedelta(days=i) for i in range(days))
    for index, day in enumerate(dates):
        pace = rng.normal(0, 0.03, len(TEAMS))
        strength = rng.normal(0, 0.04, len(TEAMS))
        features, outcomes = [], []
        for p in range(players):
            team, opponent = p % len(TEAMS), (p + 1 + index) % len(TEAMS)
            if opponent == team:
                opponent = (opponent + 1) % len(TEAMS)
            context = 1 + pace[opponent] + strength[opponent]
            played = {m: float(rng.poisson(max(levels[m][p] * context, 0.05))) for m in levels}
            minutes = float(np.clip(rng.normal(minutes_level[p], 4), 0, 48))
            features.append(_feature_row(day, index, p, team, opponent, past[p], pace, strength, levels, rng))
            outcomes.append(_summary_row(day, index, p, team, opponent, played, minutes))
            past[p].append({**played, "minutes": minutes})
        warehouse.replace_partition(ML_FEATURE_STORE_V2, day, features)
        warehouse.replace_partition(PLAYER_GAME_SUMMARY, day, outcomes)
    return SmallSeason(dates, players)


def set_outcomes(warehouse: Warehouse, day: date, *, points: int) -> None:
    """Rewrite every outcome of `day` (a correction, or a test of look-ahead)."""
    rows = warehouse.query("SELECT * FROM nba_analytics.player_game_summary WHERE game_date = @d", {"d": day})
    changed = [{**row, "points": points, "rebounds": points // 3, "assists": points // 4, "fg3m": points // 5}
               for row in rows]
    warehouse.replace_partition(PLAYER_GAME_SUMMARY, day, changed)


def feature_rows(warehouse: Warehouse, day: date) -> list[dict]:
    return warehouse.query("SELECT * FROM nba_precompute.ml_feature_store_v2 WHERE game_date = @d "
                           "ORDER BY player_id", {"d": day})


def _game_id(index: int, team: int, opponent: int) -> str:
    return f"00224{index:03d}{min(team, opponent)}{max(team, opponent)}"


def _feature_row(day, index, p, team, opponent, history, pace, strength, levels, rng) -> dict:
    def average(market: str, last: int | None = None) -> float | None:
        games = history[-last:] if last else history
        return float(np.mean([g[market] for g in games])) if games else None

    values = {
        "points_avg_last5": average("points", 5), "points_avg_last10": average("points", 10),
        "points_avg_season": average("points"),
        "points_std_last10": float(np.std([g["points"] for g in history[-10:]])) if history else None,
        **{f"{m}_avg_last10": average(m, 10) for m in ("rebounds", "assists", "threes", "minutes")},
        **{f"{m}_avg_season": average(m) for m in ("rebounds", "assists", "threes", "minutes")},
        "usage_rate_last10": 15 + levels["points"][p] / 2, "ts_pct_season": 0.55,
        "three_attempts_per36": levels["threes"][p] * 2.5, "three_points_share": 0.3, "free_throw_points_share": 0.15,
        "games_played_season": float(len(history)), "days_rest": 1.0 if history else None,
        "is_back_to_back": 1.0 if history else 0.0, "is_home": float(team < opponent),
        "opponent_defensive_rating": 112 + 100 * strength[opponent], "opponent_pace": 99 + 100 * pace[opponent],
        "team_pace": 99 + 100 * pace[team], "opponent_three_vs_league": float(rng.normal(0, 1)),
        "form_factor": 0.0, "fatigue_factor": 0.95, "pace_factor": float((pace[team] + pace[opponent]) / 2),
        "opponent_strength_factor": float(strength[opponent]), "matchup_zone_factor": 0.0,
        "points_line": None, "rebounds_line": None, "assists_line": None,
        # every other player has a threes line, around his level
        "threes_line": (round(levels["threes"][p]) + 0.5) if p % 2 == 0 else None,
    }
    return feature_row({"game_date": day, "game_id": _game_id(index, team, opponent), "player_id": 1000 + p,
                        "player_name": f"Player {p}", "team_abbr": TEAMS[team], "opponent_abbr": TEAMS[opponent],
                        "history_games": len(history), **values})


def _summary_row(day, index, p, team, opponent, played, minutes) -> dict:
    return {"game_date": day, "game_id": _game_id(index, team, opponent), "player_id": 1000 + p,
            "player_name": f"Player {p}", "team_abbr": TEAMS[team], "opponent_abbr": TEAMS[opponent],
            "minutes": minutes, "points": int(played["points"]), "rebounds": int(played["rebounds"]),
            "assists": int(played["assists"]), "fg3m": int(played["threes"])}
