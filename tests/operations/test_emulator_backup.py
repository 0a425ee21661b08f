"""Backup → wipe → restore on the emulators: a date run through Firestore, bqemulator and
fake-gcs-server, backed up through the clients, restored into an empty project of the same
emulators, gives back every document, table checksum and object; verify names corruptions."""
from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.bootstrap import Services
from shared.cli.app import app
from shared.config import Settings
from shared.operations.emulator_backup import DOCUMENTS_EXPORT, TABLES_DIR, bucket_store, live_inventory
from shared.pipeline.report import table_results
from shared.pipeline.runner import RunOptions, run_dates
from shared.pipeline.tables import pipeline_tables
from shared.providers.payloads import SCRAPERS

pytestmark = pytest.mark.emulator
DAY = date(2024, 10, 24)  # four games: the whole pipeline, kept short on the emulators


def _namespace(project: str, home: Path) -> Settings:
    """One emulator namespace: a project of its own (Firestore, BigQuery) and its own buckets."""
    return Settings(backend="emulator", home=home, project=project, evidence_bucket=f"{project}-evidence",
                    raw_bucket=f"{project}-raw", predictions_enabled=False)  # Phases 1-4: the test stays short


def _cli(settings: Settings, monkeypatch, *args):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", settings.project)
    monkeypatch.setenv("SPORTSFLOW_EVIDENCE_BUCKET", settings.evidence_bucket)
    monkeypatch.setenv("SPORTSFLOW_RAW_BUCKET", settings.raw_bucket)
    return CliRunner().invoke(app, ["--backend", "emulator", "--home", str(settings.home), *args],
                              catch_exceptions=False)


def _state(settings: Settings) -> tuple[dict, dict, dict]:
    """The namespace's inventory, each pipeline table's checksum for DAY, and every object's properties."""
    services = Services(settings)
    try:
        tables = {t.table: (t.rows, t.checksum) for t in table_results(services.warehouse, pipeline_tables(), DAY)}
        properties = {(kind, o.name): o.properties() for kind in ("evidence", "raw")
                      for o in bucket_store(services, kind).all_objects()}
        return live_inventory(services), tables, properties
    finally:
        services.close()


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """A date run on the emulators (in a namespace of its own), then backed up with the CLI."""
    import uuid
    emulators_env = os.environ.get("SPORTSFLOW_EMULATOR_ENV", str(Settings.from_env().emulator_env_file))
    if not Path(emulators_env).exists():
        message = f"no emulator endpoints at {emulators_env}: run `sportsflow emulators up`"
        pytest.fail(message) if os.environ.get("SPORTSFLOW_REQUIRE_EMULATORS") == "1" else pytest.skip(message)
    root = tmp_path_factory.mktemp("emulator-backup")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPORTSFLOW_EMULATOR_ENV", emulators_env)
        source = _namespace("b" + uuid.uuid4().hex[:12], root / "source")
        [report] = run_dates(source, RunOptions(), [DAY])
        assert report.dead_letters == [] and report.triggers["phase3_to_phase4_orchestrator"] == 1
        (source.home / "evidence-log-signing.pem").write_text("not a real key, but a file the home owns\n")
        result = _cli(source, patch, "backup", "create", str(root / "backup"), "--json")
        assert result.exit_code == 0, result.output
        yield source, root / "backup", json.loads(result.output), emulators_env


def test_backup_wipe_restore_on_the_emulators_gives_identical_checksums_documents_and_objects(
        backed_up, monkeypatch, tmp_path, unique_name):
    source, backup, summary, emulators_env = backed_up
    monkeypatch.setenv("SPORTSFLOW_EMULATOR_ENV", emulators_env)
    assert summary["backend"] == "emulator" and summary["documents"] > 50 and summary["tables"] >= 17
    assert summary["raw"] == len(SCRAPERS) and summary["files"] == 1  # one payload per scraper; the home's key
    original, original_tables, original_properties = _state(source)
    assert original_tables["nba_raw.player_boxscores"][0] > 0

    target = _namespace(unique_name, tmp_path / "restored")  # the wipe: an empty namespace
    result = _cli(target, monkeypatch, "backup", "restore", str(backup), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["identical"] is True

    restored, restored_tables, restored_properties = _state(target)
    for kind in ("documents", "tables", "evidence", "raw", "files", "object_properties"):
        assert restored[kind] == original[kind], kind
    assert restored_tables == original_tables  # the report's checksums of every pipeline table
    assert restored_properties == original_properties  # content types, recorded SHA-256, metadata

    again = _cli(target, monkeypatch, "backup", "restore", str(backup))
    assert again.exit_code == 1 and "not empty" in " ".join(again.output.split())


def test_verify_names_each_corruption_of_an_emulator_backup(backed_up, monkeypatch, tmp_path):
    _, backup, _, _ = backed_up
    assert _cli(Settings(), monkeypatch, "backup", "verify", str(backup)).exit_code == 0
    broken = tmp_path / "broken"
    shutil.copytree(backup, broken)
    lines = (broken / DOCUMENTS_EXPORT).read_text().splitlines()
    first = json.loads(lines[0])
    first["data"]["tampered"] = True
    (broken / DOCUMENTS_EXPORT).write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    rows_file = broken / TABLES_DIR / "nba_raw.player_boxscores.ndjson"
    rows_file.write_text("\n".join(rows_file.read_text().splitlines()[1:]) + "\n")  # one row lost
    raw_object = next(p for p in sorted((broken / "raw").rglob("*")) if p.is_file())
    raw_object.write_bytes(raw_object.read_bytes() + b" ")

    result = _cli(Settings(), monkeypatch, "backup", "verify", str(broken), "--json")
    assert result.exit_code == 1
    differences = json.loads(result.output)["differences"]
    assert differences["documents"] == [f"different {first['path']}"]
    assert differences["tables"] == ["different nba_raw.player_boxscores"]
    assert differences["raw"] == [f"different {raw_object.relative_to(broken / 'raw')}"]

    target = _namespace("r" + os.urandom(6).hex(), tmp_path / "target")
    refused = _cli(target, monkeypatch, "backup", "restore", str(broken))
    assert refused.exit_code == 1 and "does not match its manifest" in " ".join(refused.output.split())
