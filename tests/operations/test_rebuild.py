"""`rebuild --from-evidence`: the warehouse re-derived from the stored raw payloads alone."""
from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from shared.cli.app import app
from shared.operations.rebuild import compare_warehouses, read_raw_payloads
from tests.operations.states import backfill, checksums, days, settings_for

WEEK = (date(2025, 1, 1), date(2025, 1, 7))


@pytest.fixture(scope="module")
def backfilled_week(tmp_path_factory):
    home = tmp_path_factory.mktemp("rebuild") / "home"
    backfill(home, *WEEK)
    return home


def test_rebuild_from_evidence_of_a_backfilled_week_equals_the_original(backfilled_week, tmp_path):
    rebuilt = tmp_path / "rebuilt"
    result = CliRunner().invoke(app, ["--home", str(backfilled_week), "rebuild", "--from-evidence", "--into",
                                      str(rebuilt), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["equal"] and report["dates"] == [d.isoformat() for d in days(*WEEK)]
    assert report["payloads"] == 6 * 7 and report["tables_compared"] == 7 * 17
    original, again = checksums(backfilled_week, days(*WEEK)), checksums(rebuilt, days(*WEEK))
    assert again == original
    assert all(tables["nba_precompute.ml_feature_store_v2"][0] > 0 for tables in again.values())


def test_the_comparison_names_a_table_that_differs(backfilled_week, tmp_path):
    other = tmp_path / "other"
    backfill(other, WEEK[0], WEEK[0], predictions=False)
    import duckdb
    connection = duckdb.connect(str(other / "warehouse.duckdb"))
    connection.execute("DELETE FROM nba_raw.prop_lines WHERE rowid IN (SELECT min(rowid) FROM nba_raw.prop_lines)")
    connection.close()
    differences, compared = compare_warehouses(settings_for(backfilled_week), settings_for(other), [WEEK[0]])
    assert compared == 17 and [d["table"] for d in differences] == ["nba_raw.prop_lines"]


def test_only_the_latest_payload_of_each_scraper_and_date_is_read(backfilled_week):
    from shared.bootstrap import Services
    services = Services(settings_for(backfilled_week))
    try:
        payloads = read_raw_payloads(services, WEEK[0], WEEK[0])
    finally:
        services.close()
    assert list(payloads) == [WEEK[0]]
    assert sorted(payloads[WEEK[0]]) == sorted(["player_boxscores", "player_registry", "prop_lines", "schedule",
                                               "team_boxscores", "injury_report"])
