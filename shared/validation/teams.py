"""The 30 MLB clubs with the codes each source uses: Retrosheet (the game logs), ESPN's
abbreviation and MLB Stats API's team id."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Team:
    retro: str
    espn: str
    mlb_id: int
    name: str


TEAMS: tuple[Team, ...] = (
    Team("ANA", "LAA", 108, "Los Angeles Angels"), Team("ARI", "ARI", 109, "Arizona Diamondbacks"),
    Team("ATL", "ATL", 144, "Atlanta Braves"), Team("BAL", "BAL", 110, "Baltimore Orioles"),
    Team("BOS", "BOS", 111, "Boston Red Sox"), Team("CHA", "CHW", 145, "Chicago White Sox"),
    Team("CHN", "CHC", 112, "Chicago Cubs"), Team("CIN", "CIN", 113, "Cincinnati Reds"),
    Team("CLE", "CLE", 114, "Cleveland Guardians"), Team("COL", "COL", 115, "Colorado Rockies"),
    Team("DET", "DET", 116, "Detroit Tigers"), Team("HOU", "HOU", 117, "Houston Astros"),
    Team("KCA", "KC", 118, "Kansas City Royals"), Team("LAN", "LAD", 119, "Los Angeles Dodgers"),
    Team("MIA", "MIA", 146, "Miami Marlins"), Team("MIL", "MIL", 158, "Milwaukee Brewers"),
    Team("MIN", "MIN", 142, "Minnesota Twins"), Team("NYA", "NYY", 147, "New York Yankees"),
    Team("NYN", "NYM", 121, "New York Mets"), Team("OAK", "OAK", 133, "Oakland Athletics"),
    Team("PHI", "PHI", 143, "Philadelphia Phillies"), Team("PIT", "PIT", 134, "Pittsburgh Pirates"),
    Team("SDN", "SD", 135, "San Diego Padres"), Team("SEA", "SEA", 136, "Seattle Mariners"),
    Team("SFN", "SF", 137, "San Francisco Giants"), Team("SLN", "STL", 138, "St. Louis Cardinals"),
    Team("TBA", "TB", 139, "Tampa Bay Rays"), Team("TEX", "TEX", 140, "Texas Rangers"),
    Team("TOR", "TOR", 141, "Toronto Blue Jays"), Team("WAS", "WSH", 120, "Washington Nationals"),
)

BY_RETRO = {team.retro: team for team in TEAMS}
BY_ESPN = {team.espn: team for team in TEAMS}
BY_MLB_ID = {team.mlb_id: team for team in TEAMS}
RETRO_CODES = frozenset(BY_RETRO)
