"""The replay cache serves exactly what parsing the files would, and never anything stale."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.providers import replay_cache
from shared.providers.replay import ReplaySource
from shared.providers.replay_cache import PARSING_MODULES, ReplayCache, default_cache_dir
from shared.providers.replay_layout import ReplayDataInvalid
from tests.providers.made_up_season import DAYS, D, write_made_up_season

SCRAPERS = ("schedule", "team_boxscores", "player_boxscores", "player_registry", "prop_lines", "injury_report")


@pytest.fixture
def made_up(tmp_path):
    return write_made_up_season(tmp_path / "made-up")


@pytest.fixture
def cache(tmp_path):
    return ReplayCache(tmp_path / "cache")


def _checked(folder: Path, cache: ReplayCache | None) -> ReplaySource:
    source = ReplaySource(folder, cache=cache)
    source.check()
    return source


def _served(source: ReplaySource) -> dict:
    return {(scraper, day): source.payload(scraper, day).model_dump() for scraper in SCRAPERS for day in DAYS}


def _entry(cache: ReplayCache) -> Path:
    (entry,) = cache.directory.glob("*.pickle")
    return entry


def _parse_count(monkeypatch) -> list[str]:
    """The names of the files parsed from here on (the cache hides a parse of unchanged files)."""
    from shared.providers import replay
    parsed, real = [], replay._parsed

    def counting(path, parse):
        parsed.append(path.name)
        return real(path, parse)
    monkeypatch.setattr(replay, "_parsed", counting)
    return parsed


def test_a_cached_source_serves_what_parsing_serves(made_up, cache, monkeypatch):
    uncached = _served(_checked(made_up, None))
    _checked(made_up, cache)  # parses and stores
    parsed = _parse_count(monkeypatch)
    warm = _checked(made_up, cache)
    assert parsed == []  # loaded, not parsed
    assert _served(warm) == uncached
    assert warm.seasons() == _checked(made_up, None).seasons()


def test_a_changed_file_with_the_same_size_and_mtime_is_parsed_again(made_up, cache, monkeypatch):
    _checked(made_up, cache)
    box = made_up / "box.csv"
    before = box.stat()
    content = box.read_bytes()
    changed = content.replace(b",30.0,", b",31.0,", 1)  # one player's minutes, same length
    assert changed != content and len(changed) == len(content)
    box.write_bytes(changed)
    os.utime(box, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (box.stat().st_size, box.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    parsed = _parse_count(monkeypatch)
    warm = _checked(made_up, cache)
    assert "box.csv" in parsed
    assert _served(warm) == _served(_checked(made_up, None))


def test_changed_parsing_code_is_a_different_key(made_up, cache, monkeypatch):
    _checked(made_up, cache)
    replay_cache.code_version.cache_clear()
    monkeypatch.setattr(replay_cache, "PARSING_MODULES", PARSING_MODULES + ("tests.providers.made_up_season",))
    parsed = _parse_count(monkeypatch)
    try:
        _checked(made_up, cache)
    finally:
        replay_cache.code_version.cache_clear()
    assert parsed  # the code version changed: nothing cached is trusted


@pytest.mark.parametrize("damage", ["truncated", "garbage", "payload altered"])
def test_a_corrupt_entry_is_logged_and_rebuilt(made_up, cache, monkeypatch, caplog, damage):
    expected = _served(_checked(made_up, cache))
    entry = _entry(cache)
    stored = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(stored[: len(stored) // 2])
    elif damage == "garbage":
        entry.write_bytes(b"not a pickle at all")
    else:  # a flipped byte inside the payload: still a valid outer pickle, caught by the digest
        middle = len(stored) // 2
        entry.write_bytes(stored[:middle] + bytes([stored[middle] ^ 0x01]) + stored[middle + 1:])
    parsed = _parse_count(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="sportsflow.providers"):
        rebuilt = _checked(made_up, cache)
    assert parsed, "a corrupt entry must not be served"
    assert any("replay cache entry is corrupt" in r.getMessage() for r in caplog.records)
    assert _served(rebuilt) == expected
    parsed.clear()
    _checked(made_up, cache)
    assert parsed == []  # rewritten whole


def test_an_invalid_row_fails_with_its_line_every_time_and_is_never_cached(made_up, cache):
    box = made_up / "box.csv"
    lines = box.read_text().splitlines()
    lines[5] = lines[5].replace(DAYS[0].isoformat(), "21/10/2031")
    box.write_text("\n".join(lines) + "\n")
    for _ in range(2):
        with pytest.raises(ReplayDataInvalid, match=r"box\.csv line 6: cannot read this row"):
            _checked(made_up, cache)
    assert not cache.directory.exists() or not list(cache.directory.glob("*.pickle"))


def test_a_file_turned_invalid_after_caching_still_fails_with_its_line(made_up, cache):
    _checked(made_up, cache)
    props = made_up / "lines.csv"
    lines = props.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",not-odds"  # under_odds
    props.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReplayDataInvalid, match=r"lines\.csv line 3"):
        _checked(made_up, cache)


def test_an_unwritable_cache_only_costs_the_parse(made_up, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING, logger="sportsflow.providers"):
        source = _checked(made_up, ReplayCache(blocker / "cache"))
    assert len(source.schedule(D).games) == 2
    assert any("replay cache not written" in r.getMessage() for r in caplog.records)


def test_the_cache_lives_where_a_user_expects_one(monkeypatch, tmp_path):
    monkeypatch.delenv("SPORTSFLOW_REPLAY_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "sportsflow" / "replay"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "sportsflow" / "replay"
    monkeypatch.setenv("SPORTSFLOW_REPLAY_CACHE", str(tmp_path / "mine"))
    assert ReplayCache.default().directory == tmp_path / "mine"


def test_the_cache_key_covers_every_module_that_parses(made_up, tmp_path):
    """Parsing in a fresh process imports no `shared` module outside PARSING_MODULES: a new
    dependency of the parsing code must join the key, or an edit to it would serve stale rows."""
    script = ("import json, sys\nfrom shared.providers.replay import ReplaySource\n"
              f"ReplaySource({str(made_up)!r}, cache=None).check()\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.startswith('shared.'))))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    imported = set(json.loads(out.stdout))
    assert imported <= set(PARSING_MODULES), f"add to PARSING_MODULES: {sorted(imported - set(PARSING_MODULES))}"


def test_the_real_season_served_from_the_cache_is_the_parsed_one(data_dir, cache):
    from datetime import date
    parsed = _checked(data_dir, None)
    _checked(data_dir, cache)
    cached = _checked(data_dir, cache)
    for day in (date(2024, 10, 22), date(2024, 11, 15), date(2025, 1, 15)):
        for scraper in SCRAPERS:
            assert cached.payload(scraper, day) == parsed.payload(scraper, day), (scraper, day)
    assert cached.seasons() == parsed.seasons() and cached.game_days() == parsed.game_days()
