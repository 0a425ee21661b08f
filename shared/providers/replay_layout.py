"""What a `replay:PATH` folder holds: the files of one or more seasons, found by a manifest or by name.

    layout = ReplayLayout.discover(Path("../shared/data"))
    layout.files["team_game_logs"]        # (Path(".../team_game_logs_2024_25.csv"),)

Two ways to say where the files are:

- a manifest, `PATH/replay.json`, naming the files of each kind (a path or a list of paths,
  relative to PATH), for files with any names:

      {"players": "people.csv",
       "team_game_logs": ["2019/teams.csv", "2020/teams.csv"],
       "player_box_scores": ["2019/box.csv", "2020/box.csv"],
       "player_game_logs": [], "prop_lines": []}

- without a manifest, by name anywhere under PATH (the ../shared/data layout, any season):
  `players.csv`, `team_game_logs_*.csv`, `player_box_*.csv`, `player_game_logs_*.csv`,
  `props_*.csv`. Several seasons side by side are simply several files of a kind.

`check_headers` reads the first line of every file: a missing file, an empty one, or one
without the columns its kind needs is a `ReplayDataInvalid` naming the file and what is wrong.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "replay.json"


class ReplayDataMissing(FileNotFoundError):
    """A file or folder the replay source needs is not there."""


class ReplayDataInvalid(ValueError):
    """A replay file is there but cannot be used: the message names the file and what is wrong."""


@dataclass(frozen=True)
class FileKind:
    name: str
    pattern: str  # the file name looked for without a manifest
    columns: tuple[str, ...]  # columns the loader reads
    required: bool
    what: str  # one line for the error messages


KINDS: tuple[FileKind, ...] = (
    FileKind("players", "players.csv", ("id", "full_name", "first_name", "last_name", "is_active"), True,
             "every person (nba_api static players)"),
    FileKind("team_game_logs", "team_game_logs_*.csv",
             ("GAME_ID", "GAME_DATE", "TEAM_ID", "TEAM_ABBREVIATION", "MATCHUP", "WL", "MIN", "PTS", "FGM", "FGA",
              "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TOV", "PF", "PLUS_MINUS"),
             True, "one row per team and game (the schedule and team box scores)"),
    FileKind("player_box_scores", "player_box_*.csv",
             ("firstName", "gameDate", "playerteamName", "opponentteamName", "win", "home", "MP", "PTS", "TRB",
              "AST", "STL", "BLK", "TOV", "FG", "FGA", "3PM", "3PA", "FTM", "FTA"), True,
             "one row per player and game, by name"),
    FileKind("player_game_logs", "player_game_logs_*.csv", ("player_id", "date", "matchup"), False,
             "one row per player and game, with person ids (optional)"),
    FileKind("prop_lines", "props_*.csv",
             ("file_date", "player", "game", "game_time", "market", "line", "bookmaker", "over_odds", "under_odds"),
             False, "player prop lines by date (optional)"),
)
KIND_BY_NAME = {kind.name: kind for kind in KINDS}


@dataclass(frozen=True)
class ReplayLayout:
    root: Path
    files: dict[str, tuple[Path, ...]]
    manifest: Path | None = None

    @classmethod
    def discover(cls, root: Path) -> "ReplayLayout":
        if not root.is_dir():
            raise ReplayDataMissing(f"replay data folder not found: {root} (e.g. replay:../shared/data)")
        manifest = root / MANIFEST
        files = _from_manifest(root, manifest) if manifest.exists() else _by_pattern(root)
        layout = cls(root, files, manifest if manifest.exists() else None)
        layout._check_required()
        return layout

    def check_headers(self) -> None:
        for kind in KINDS:
            for path in self.files[kind.name]:
                _check_header(path, kind)

    def _check_required(self) -> None:
        missing = [kind for kind in KINDS if kind.required and not self.files[kind.name]]
        if missing:
            where = "; ".join(f"the manifest {self.manifest} names no {kind.name!r} file ({kind.what})" if self.manifest
                              else f"no file named {kind.pattern} ({kind.what})" for kind in missing)
            raise ReplayDataMissing(f"replay data incomplete under {self.root}: {where}. Add the file(s), or write "
                                    f"{self.root / MANIFEST} naming yours (see shared/providers/replay_layout.py)")
        if len(self.files["players"]) > 1:
            raise ReplayDataInvalid(f"replay data ambiguous: several players.csv under {self.root} "
                                    f"({', '.join(map(str, self.files['players']))}); name one in {MANIFEST}")


def _by_pattern(root: Path) -> dict[str, tuple[Path, ...]]:
    return {kind.name: tuple(sorted(p for p in root.rglob(kind.pattern) if p.is_file())) for kind in KINDS}


def _from_manifest(root: Path, manifest: Path) -> dict[str, tuple[Path, ...]]:
    try:
        named = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReplayDataInvalid(f"{manifest}: not a JSON object naming the replay files ({error})") from None
    if not isinstance(named, dict):
        raise ReplayDataInvalid(f"{manifest}: expected a JSON object, got {type(named).__name__}")
    unknown = sorted(set(named) - set(KIND_BY_NAME))
    if unknown:
        raise ReplayDataInvalid(f"{manifest}: unknown key(s) {unknown}; use {sorted(KIND_BY_NAME)}")
    files = {}
    for kind in KINDS:
        value = named.get(kind.name, [])
        paths = [value] if isinstance(value, str) else value
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ReplayDataInvalid(f"{manifest}: {kind.name!r} must be a file name or a list of file names")
        resolved = tuple(root / p for p in paths)
        for path in resolved:
            if not path.is_file():
                raise ReplayDataMissing(f"replay data file not found: {path} (named as {kind.name!r} in {manifest})")
        files[kind.name] = resolved
    return files


def _check_header(path: Path, kind: FileKind) -> None:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
            first_row = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise ReplayDataMissing(f"replay data file not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ReplayDataInvalid(f"{path}: not a readable UTF-8 CSV file ({error})") from None
    if not header:
        raise ReplayDataInvalid(f"{path}: empty file; expected a CSV header with {', '.join(kind.columns)}")
    missing = [c for c in kind.columns if c not in header]
    if missing:
        raise ReplayDataInvalid(f"{path}: missing column(s) {', '.join(missing)} — a {kind.name} file holds "
                                f"{kind.what} with columns {', '.join(kind.columns)}")
    if first_row is None:
        raise ReplayDataInvalid(f"{path}: header only, no rows ({kind.what})")
