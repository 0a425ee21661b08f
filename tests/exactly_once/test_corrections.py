"""Corrected input data re-flows exactly once per new version: a changed box score for one date
changes Phase 2–4 of that date exactly as a fresh run on the changed data would, makes the
later dates that read it stale (and says why), `backfill --stale` makes the range equal to a
fresh in-order backfill, and the same data once more does nothing."""
from __future__ import annotations

import csv
import shutil
from datetime import date

import pytest

from shared.config import Settings
from shared.pipeline.runner import Pipeline, RunOptions
from shared.pipeline.status import stale_processors
from tests.exactly_once.harness import checksums, successes

D1, D2, D3 = date(2025, 1, 13), date(2025, 1, 14), date(2025, 1, 15)
FOLDERS = ("nba-kbraj9-playerstats-2024-25", "nba-team-game-logs", "nba-api-static")
BOX_SCORES = "nba-kbraj9-playerstats-2024-25/player_box_2024_25.csv"


def copy_of(data_dir, target, *, correct: bool = False):
    for folder in FOLDERS:
        shutil.copytree(data_dir / folder, target / folder)
    if correct:
        add_points(target / BOX_SCORES, D1, points=10)
    return f"replay:{target}"


def add_points(path, day: date, *, points: int) -> None:
    """The provider's late correction: one player's points on `day` (the first row of that day)."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    row = next(r for r in rows if r["gameDate"] == day.isoformat())
    row["PTS"] = str(int(row["PTS"]) + points)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def pipeline(home, source) -> Pipeline:
    return Pipeline(Settings(home=home), RunOptions(source=source))


@pytest.mark.realdata
def test_a_correction_reflows_once_and_later_dates_go_stale(data_dir, tmp_path):
    original = copy_of(data_dir, tmp_path / "original")
    corrected = copy_of(data_dir, tmp_path / "corrected", correct=True)
    home = tmp_path / "home"
    with pipeline(home, original) as run:
        first = {day: checksums(run.run_date(day)) for day in (D1, D2, D3)}
    with pipeline(tmp_path / "fresh", corrected) as fresh_run:  # what the corrected data should give
        fresh = {day: checksums(fresh_run.run_date(day)) for day in (D1, D2, D3)}
    changed_tables = {t for t in fresh[D1] if fresh[D1][t] != first[D1][t]}
    assert {"nba_raw.player_boxscores", "nba_analytics.player_game_summary"} <= changed_tables

    with pipeline(home, corrected) as run:
        again = run.run_date(D1)  # the hourly re-scrape brings the corrected payload
        assert checksums(again) == fresh[D1], "the correction did not re-flow through Phases 2-4"
        stale = {day: stale_processors(run.services.documents, day) for day in (D2, D3)}
        assert stale[D2] and stale[D3], "later dates that read D1's history must be stale"
        assert any("player_game_summary on earlier dates of the season changed" in why
                   for reasons in stale[D2].values() for why in reasons), stale[D2]
        for day in (D2, D3):  # backfill --stale: in date order
            run.recompute(day)
        after = {day: checksums(run.run_date(day)) for day in (D2, D3)}
        assert after == {D2: fresh[D2], D3: fresh[D3]}, "backfill --stale differs from a fresh in-order backfill"
        assert all(not stale_processors(run.services.documents, day) for day in (D1, D2, D3))
        runs_before = {day: successes(run, day) for day in (D1, D2, D3)}
        third = run.run_date(D1)  # the same data once more
        assert checksums(third) == fresh[D1]
        assert {day: successes(run, day) for day in (D1, D2, D3)} == runs_before, "the same data ran again"
        # Each processor of D1 ran once for the original and at most once more for the correction.
        assert max(successes(run, D1).values()) == 2 and min(successes(run, D1).values()) == 1


@pytest.mark.realdata
def test_a_late_earlier_date_makes_the_next_one_stale_until_recomputed(data_dir, tmp_path):
    source = copy_of(data_dir, tmp_path / "data")
    with pipeline(tmp_path / "in-order", source) as run:
        in_order = {day: checksums(run.run_date(day)) for day in (D1, D2)}
    with pipeline(tmp_path / "late", source) as run:
        run.run_date(D2)
        run.run_date(D1)  # arrives late
        assert stale_processors(run.services.documents, D2)
        run.recompute(D2)
        assert checksums(run.run_date(D2)) == in_order[D2]
        assert not stale_processors(run.services.documents, D2)
