"""Backup → wipe → restore gives back every document, table and evidence file exactly."""
from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date

import pytest
from typer.testing import CliRunner

from shared.cli.app import app
from shared.operations.backup import BackupError, inventory, restore_backup, verify_backup
from shared.providers.payloads import SCRAPERS
from tests.operations.states import backfill, checksums, days

START, END = date(2025, 1, 1), date(2025, 1, 3)


def _cli(home, *args):
    return CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """A backfilled home (with a signing key and a dead letter's worth of documents) and its backup."""
    root = tmp_path_factory.mktemp("backup")
    home = root / "home"
    backfill(home, START, END)
    (home / "evidence-log-signing.pem").write_text("not a real key, but a file the home owns\n")
    result = _cli(home, "backup", "create", str(root / "backup"), "--json")
    assert result.exit_code == 0, result.output
    return home, root / "backup", json.loads(result.output)


def test_backup_wipe_restore_round_trip_gives_identical_checksums_and_documents(backed_up, tmp_path):
    home, backup, summary = backed_up
    assert summary["documents"] > 100 and summary["tables"] >= 17
    assert summary["raw"] == 3 * len(SCRAPERS)  # 3 dates, one payload per scraper
    original_inventory, original_checksums = inventory(home), checksums(home, days(START, END))
    restored_home = tmp_path / "home"
    shutil.copytree(home, restored_home)
    shutil.rmtree(restored_home)  # the wipe: nothing of the original is left in the restored home

    result = _cli(restored_home, "backup", "restore", str(backup), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["identical"] is True
    restored = inventory(restored_home)
    assert restored["tables"] == original_inventory["tables"]  # every table checksum (all columns)
    assert restored["documents"] == original_inventory["documents"]  # every document
    assert restored["evidence"] == original_inventory["evidence"] and restored["raw"] == original_inventory["raw"]
    assert restored["files"] == original_inventory["files"]
    assert checksums(restored_home, days(START, END)) == original_checksums

    # The restored home works: the next date runs on it as on the original.
    backfill(restored_home, date(2025, 1, 4), date(2025, 1, 4))
    assert checksums(restored_home, [date(2025, 1, 4)])["2025-01-04"]["nba_raw.player_boxscores"][0] > 0


def test_restore_over_a_home_with_state_needs_force_and_moves_it_aside(backed_up, tmp_path):
    home, backup, _ = backed_up
    target = tmp_path / "home"
    backfill(target, date(2025, 1, 10), date(2025, 1, 10))
    with pytest.raises(BackupError, match="--force"):
        restore_backup(backup, target)
    comparison, moved_aside = restore_backup(backup, target, replace_existing=True)
    assert comparison.identical and moved_aside is not None and (moved_aside / "warehouse.duckdb").exists()
    assert inventory(target)["tables"] == inventory(home)["tables"]


def test_verify_names_a_changed_document_table_row_and_evidence_byte(backed_up, tmp_path):
    _, backup, _ = backed_up
    assert verify_backup(backup).identical
    broken = tmp_path / "broken"
    shutil.copytree(backup, broken)
    connection = sqlite3.connect(broken / "documents.sqlite")
    path, = connection.execute("SELECT path FROM documents ORDER BY path LIMIT 1").fetchone()
    connection.execute("UPDATE documents SET data = '{}' WHERE path = ?", (path,))
    connection.commit()
    connection.close()
    import duckdb
    warehouse = duckdb.connect(str(broken / "warehouse.duckdb"))
    warehouse.execute("DELETE FROM nba_raw.schedule WHERE game_id IN (SELECT game_id FROM nba_raw.schedule LIMIT 1)")
    warehouse.close()
    payload = next(p for p in sorted((broken / "raw").rglob("*")) if p.is_file() and "~meta" not in p.name)
    payload.chmod(0o644)
    payload.write_bytes(payload.read_bytes() + b" ")

    comparison = verify_backup(broken)
    assert not comparison.identical
    assert comparison.differences["documents"] == [f"different {path}"]
    assert comparison.differences["tables"] == ["different nba_raw.schedule"]
    assert comparison.differences["raw"] == [f"different {payload.relative_to(broken / 'raw')}"]
    assert _cli(tmp_path, "backup", "verify", str(broken)).exit_code == 1
    with pytest.raises(BackupError, match="does not match its manifest"):
        restore_backup(broken, tmp_path / "elsewhere")


@pytest.mark.parametrize("command", ["create", "restore"])
def test_on_gcp_backup_refuses_and_points_to_googles_backups(tmp_path, command):
    result = CliRunner().invoke(app, ["--backend", "gcp", "--home", str(tmp_path), "backup", command,
                                      str(tmp_path / "b")])
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert "point-in-time recovery" in text and "time travel" in text and "docs/runbooks.md" in text
