"""The same date through the Google emulators gives the same tables as the embedded backend."""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import date

import pytest

from shared.config import Settings
from shared.pipeline.runner import RunOptions, run_dates

pytestmark = pytest.mark.emulator
DAY = date(2025, 1, 15)


def checksums(report) -> dict:
    return {t.table: (t.rows, t.checksum) for t in report.tables}


@pytest.fixture
def emulator_settings(emulators, unique_name, tmp_path, monkeypatch):
    monkeypatch.setenv("SPORTSFLOW_EMULATOR_ENV", os.environ.get(
        "SPORTSFLOW_EMULATOR_ENV", str(Settings.from_env().emulator_env_file)))
    return Settings(backend="emulator", home=tmp_path / "emulator", project=unique_name,
                    evidence_bucket=f"{unique_name}-evidence")


@pytest.mark.parametrize("source", ["synthetic", "replay"])
def test_emulator_backend_matches_the_embedded_backend(emulator_settings, tmp_path, source, request):
    if source == "replay":
        source = f"replay:{request.getfixturevalue('data_dir')}"
    options = RunOptions(source=source)
    [embedded] = run_dates(Settings(home=tmp_path / "local"), options, [DAY])
    [emulated] = run_dates(emulator_settings, options, [DAY])
    assert checksums(emulated) == checksums(embedded)
    assert emulated.triggers == embedded.triggers == {
        "phase2_to_phase3_orchestrator": 5, "phase3_to_phase4_orchestrator": 1, "phase4_orchestrator": 3,
        "phase5_coordinator": 1}
    assert emulated.predictions["complete"] and emulated.predictions == embedded.predictions
    assert emulated.dead_letters == []
    # and again on the emulators: nothing is reprocessed, nothing duplicated
    [again] = run_dates(replace(emulator_settings, home=tmp_path / "emulator2"), options, [DAY])
    assert checksums(again) == checksums(embedded)
