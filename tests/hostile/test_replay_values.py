"""Hostile review: a replay row whose values parse but break the payload contract (negative points)
must be refused by the source check before any scraper runs -- one error naming the file and line,
exit 2 (README, "Replay folders") -- not surface as a provider outage ("HTTP 500 ... Try again later"),
retried 3x3 times, after the other scrapers already stored and announced the date's payloads."""
from __future__ import annotations

import csv

from typer.testing import CliRunner

from shared.cli.app import app
from tests.providers.made_up_season import write_made_up_season


def test_a_negative_box_score_value_is_a_source_error_naming_the_line(tmp_path):
    folder = write_made_up_season(tmp_path / "data")
    box = folder / "box.csv"
    with box.open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["PTS"] = "-40"
    day = rows[0]["gameDate"]
    with box.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "run", "--date", day,
                                      "--source", f"replay:{folder}"])
    # Seen on a copy of the real data (Zach LaVine, 2024-11-20, PTS -40): exit 1, "error: provider
    # 'provider-d1cdd8' unavailable after 3 attempt(s): HTTP 500. Try again later, or fall back to another
    # source"; the log holds a pydantic ValidationError from shared/providers/replay.py player_boxscores.
    assert "Try again later" not in result.output, result.output
    assert result.exit_code == 2, result.output
    assert str(box) in result.output, result.output
    assert not (tmp_path / "home" / "raw").exists() or not any((tmp_path / "home" / "raw").rglob("*.json")), \
        "no scraper may run before the source is checked"


def test_a_prop_row_the_contract_would_refuse_is_refused_while_reading():
    from datetime import datetime, timezone

    import pytest

    from shared.providers.replay import _checked_prop
    good = ("A Player", "Away @ Home", datetime(2024, 11, 20, 0, 30, tzinfo=timezone.utc), "player_points", 20.5,
            "book", -110, -110)
    assert _checked_prop(good) == good
    with pytest.raises(ValueError, match="market 'player_dunks' must be one of"):
        _checked_prop(good[:3] + ("player_dunks",) + good[4:])
    with pytest.raises(ValueError, match="UTC offset"):
        _checked_prop(good[:2] + (datetime(2024, 11, 20, 0, 30),) + good[3:])
