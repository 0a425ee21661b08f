"""`status` on a home whose warehouse file was lost: one error saying how to recover, no traceback."""
from __future__ import annotations

from typer.testing import CliRunner

from shared.cli.app import app

runner = CliRunner()


def test_status_of_a_home_without_its_warehouse_says_how_to_recover(tmp_path):
    home = tmp_path / "home"
    ran = runner.invoke(app, ["--home", str(home), "run", "--date", "2025-01-03"], catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    for lost in home.glob("warehouse.duckdb*"):
        lost.unlink()

    result = runner.invoke(app, ["--home", str(home), "status", "--date", "2025-01-03"], catch_exceptions=False)

    assert result.exit_code == 1, result.output
    assert "the warehouse cannot answer" in result.stderr
    assert "sportsflow backup restore" in result.stderr and "rebuild --from-evidence" in result.stderr
    assert "Traceback" not in result.output
