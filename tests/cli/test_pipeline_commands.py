"""The pipeline commands as a user runs them: run --json, backfill (resumable), status."""
import json

from typer.testing import CliRunner

from shared.cli.app import app

runner = CliRunner()


def invoke(home, *args):
    result = runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_run_json_reports_tables_triggers_and_dead_letters(tmp_path):
    report = json.loads(invoke(tmp_path, "run", "--date", "2025-01-15", "--json").stdout)
    assert report["date"] == "2025-01-15" and report["backend"] == "local"
    assert report["tables"]["nba_precompute.ml_feature_store_v2"]["rows"] > 0
    assert report["triggers"]["phase3_to_phase4_orchestrator"] == 1
    assert report["dead_letters"] == [] and report["faults_injected"] == {}
    assert (tmp_path / "logs" / "sportsflow.jsonl").stat().st_size > 0


def test_backfill_is_resumable_and_status_explains_a_date(tmp_path):
    first = invoke(tmp_path, "backfill", "--start", "2025-01-14", "--end", "2025-01-15")
    assert "2 dates run, 0 skipped (already finished)" in first.stderr
    again = invoke(tmp_path, "backfill", "--start", "2025-01-13", "--end", "2025-01-15")
    assert "1 dates run, 2 skipped (already finished)" in again.stderr
    state = json.loads(invoke(tmp_path, "status", "--date", "2025-01-15", "--json").stdout)
    assert all(not phase["missing"] for phase in state["phases"])
    assert all(trigger["published"] for trigger in state["triggers"])
    untouched = json.loads(invoke(tmp_path, "status", "--date", "2025-02-01", "--json").stdout)
    phase4 = next(t for t in untouched["triggers"] if t["target"] == "phase4")
    assert not phase4["published"] and len(phase4["missing"]) == 5


def test_raw_only_backfill_loads_raw_tables_without_triggering_phase3(tmp_path):
    invoke(tmp_path, "backfill", "--start", "2025-01-15", "--end", "2025-01-15", "--raw-only")
    state = json.loads(invoke(tmp_path, "status", "--date", "2025-01-15", "--json").stdout)
    phases = {p["phase"]: p for p in state["phases"]}
    assert phases[2]["missing"] == [] and phases[3]["done"] == []
    assert not any(t["published"] for t in state["triggers"])
    # switched back on, the same date completes from the loaded raw tables
    invoke(tmp_path, "backfill", "--start", "2025-01-15", "--end", "2025-01-15")
    state = json.loads(invoke(tmp_path, "status", "--date", "2025-01-15", "--json").stdout)
    assert all(t["published"] for t in state["triggers"])


def test_bad_source_says_what_to_use(tmp_path):
    result = runner.invoke(app, ["--home", str(tmp_path), "run", "--date", "2025-01-15", "--source", "espn"])
    assert result.exit_code != 0 and "synthetic or replay:PATH" in result.output
