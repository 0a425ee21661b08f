"""The season on real data (../shared/data/retrosheet-gamelogs): every decision agrees with the game
log; re-running, and running under chaos, adds no second decision or evidence record; injected
disagreement goes to review and nothing is decided wrongly; late corrections re-validate exactly
the corrected games. The full season is `sportsflow validate --season 2024` (see the README);
these run its first dates to stay fast."""
from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from shared.cli.app import app
from shared.config import Settings
from shared.validation import records, system
from shared.validation.season import SeasonOptions, SeasonRun

DATES = 6


def run_season(home, data_dir, **options):
    settings = Settings(home=home)
    with SeasonRun(settings, SeasonOptions(2024, data_dir / "retrosheet-gamelogs", limit_dates=DATES,
                                           **options)) as run:
        summary = run.run()
        keys = {doc.id: doc.data["evidence_key"] for doc in run.services.documents.query(records.DECISIONS)}
        leaves = [leaf.key for leaf in system.evidence_log(run.services, signing=False).leaves()]
    return summary, keys, leaves


def test_decisions_agree_with_the_game_log_and_a_rerun_adds_nothing(tmp_path, data_dir) -> None:
    summary, keys, leaves = run_season(tmp_path, data_dir)
    assert summary.agrees_with_game_log and summary.latest_decisions.get("review", 0) == 0
    assert summary.evidence_records == len(leaves) == len(set(leaves))
    again, keys_again, leaves_again = run_season(tmp_path, data_dir)
    assert keys_again == keys and leaves_again == leaves
    assert again.decisions == summary.decisions


def test_chaos_changes_no_decision_and_duplicates_no_record(tmp_path, data_dir) -> None:
    clean, clean_keys, _ = run_season(tmp_path / "clean", data_dir)
    chaotic, keys, leaves = run_season(tmp_path / "chaos", data_dir, chaos_seed=3)
    assert chaotic.agrees_with_game_log
    assert set(keys) == set(clean_keys)  # one decision per (game, version, promotion, rule version)
    assert len(leaves) == len(set(leaves)) == chaotic.evidence_records == clean.evidence_records
    fired = Counter({k: v for k, v in chaotic.faults.items() if v})
    assert fired["transient_handler_failures"] and any(k.startswith("source_") for k in fired), fired
    # And a chaotic re-run over the clean season's state adds nothing.
    rerun, rerun_keys, rerun_leaves = run_season(tmp_path / "clean", data_dir, chaos_seed=4)
    assert rerun_keys == clean_keys and len(rerun_leaves) == clean.evidence_records


def test_injected_disagreement_goes_to_review_and_none_is_decided_wrongly(tmp_path, data_dir) -> None:
    summary, _, _ = run_season(tmp_path, data_dir, disagree_rate=0.15, missing_inning_rate=0.05, fault_seed=1)
    assert summary.agrees_with_game_log  # every decided (non-review) decision matches the game log
    assert summary.latest_decisions["review"] > 0 and summary.reviews_open == summary.latest_decisions["review"]


def test_late_corrections_revalidate_exactly_the_corrected_games(tmp_path, data_dir) -> None:
    summary, _, _ = run_season(tmp_path, data_dir, corrections=3, fault_seed=2)
    assert len(summary.corrected_games) == 3
    assert summary.revalidated and {k.split("__")[0] for k in summary.revalidated} == set(summary.corrected_games)
    assert all("__v2__" in key for key in summary.revalidated)
    assert summary.agrees_with_game_log  # the latest version of every game is the corrected one


def test_the_cli_prints_the_json_summary_and_verifies_the_log(tmp_path, data_dir) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    result = runner.invoke(app, [*home, "validate", "--season", "2024", "--source",
                                 f"replay:{data_dir / 'retrosheet-gamelogs'}", "--limit-dates", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert summary["games"] > 0 and summary["checkpoint"]["size"] == summary["evidence_records"]
    assert {"p50", "p99"} <= set(summary["latency_ms"])
    verified = runner.invoke(app, [*home, "evidence", "verify", "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"]
    decision = next((tmp_path / "evidence" / "validation" / "decisions").rglob("r1.json~meta.json"))
    key = str(decision.relative_to(tmp_path / "evidence")).removesuffix("~meta.json")
    proof = runner.invoke(app, [*home, "evidence", "prove", key])
    assert proof.exit_code == 0 and json.loads(proof.stdout)["key"] == key
    assert runner.invoke(app, [*home, "validation", "review", "list"]).exit_code == 0
    bad = runner.invoke(app, [*home, "validate", "--season", "2024", "--source", "synthetic"])
    assert bad.exit_code != 0 and "replay:PATH" in bad.output


@pytest.mark.parametrize("missing", ["nowhere"])
def test_a_missing_game_log_is_a_clear_error(tmp_path, missing) -> None:
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "validate", "--season", "2024",
                                      "--source", f"replay:{tmp_path / missing}"])
    assert result.exit_code != 0 and "gl2024.csv" in result.output
