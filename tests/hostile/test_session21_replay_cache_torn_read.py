"""Hostile review (session 21): the replay cache's key is computed from one read of the files
(`files_key`) and the rows from a second read (the parse). A file replaced between the two reads
(a `git pull`, an rsync or an editor saving the data folder while a run checks its source) stores
the NEW rows under the OLD content's key. When the file later goes back to the old content (the
pull reverted, a backup restored) every process is served the new rows for the old bytes, silently
and forever: the entry is "never stale" by its docstring. Observed: after restoring the original
box-score file, the cached player box scores still carry the edited points (parsed: original)."""
from __future__ import annotations

import csv

from shared.providers import replay
from shared.providers.replay import ReplaySource
from shared.providers.replay_cache import ReplayCache
from tests.providers.made_up_season import D, write_made_up_season


def _points_of(source: ReplaySource) -> list:
    return [row.points for row in source.payload("player_boxscores", D).rows]


def test_a_file_replaced_during_check_never_poisons_the_cache(tmp_path, monkeypatch):
    folder = write_made_up_season(tmp_path / "data")
    box = folder / "box.csv"
    original = box.read_bytes()
    with box.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["gameDate"] == D.isoformat():
            row["PTS"] = str(int(row["PTS"]) + 50)
    edited_path = tmp_path / "edited.csv"
    with edited_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    edited = edited_path.read_bytes()
    cache = ReplayCache(tmp_path / "cache")

    real_files_key = replay.files_key

    def key_then_concurrent_edit(files):
        key = real_files_key(files)
        box.write_bytes(edited)  # another process replaces the file right after the key was read
        return key

    monkeypatch.setattr(replay, "files_key", key_then_concurrent_edit)
    ReplaySource(folder, cache=cache).check()
    monkeypatch.setattr(replay, "files_key", real_files_key)

    box.write_bytes(original)  # the edit is undone
    parsed = ReplaySource(folder, cache=None)
    parsed.check()
    cached = ReplaySource(folder, cache=cache)
    cached.check()
    # observed: the cached points are the edited ones (+50 each) for the original file
    assert _points_of(cached) == _points_of(parsed)
