"""Hostile review: commands pointed at a home that was never used must say so (and what to run),
not create it, and never report a vacuous success."""
from __future__ import annotations

from typer.testing import CliRunner

from shared.cli.app import app

runner = CliRunner()


def invoke(home, *args):
    return runner.invoke(app, ["--home", str(home), *args])


def test_status_of_a_home_that_does_not_exist_says_to_run_and_creates_nothing(tmp_path):
    home = tmp_path / "never-used"
    result = invoke(home, "status", "--date", "2025-01-15")
    assert "Traceback" not in result.output
    # Seen: "error: the warehouse cannot answer: query failed: Catalog Error: Table with name
    # "nba_analytics.upcoming_player_game_context" does not exist ... If its file was lost, restore the
    # home (`sportsflow backup restore DIR`) or re-derive it ..." -- advice for a lost file, on a home
    # that never existed; and the home is created as a side effect.
    assert "Catalog Error" not in result.output, result.output
    assert "sportsflow run" in result.output, result.output
    assert not home.exists(), sorted(p.name for p in home.iterdir())


def test_rebuild_from_an_empty_home_is_not_reported_as_equal_to_the_original(tmp_path):
    home = tmp_path / "never-used"
    result = invoke(home, "rebuild", "--from-evidence", "--into", str(tmp_path / "rebuilt"))
    # Seen: "rebuilt no dates (0 dates, 0 raw payloads) ... 0 table-dates compared: equal to the
    # original", exit 0: a verification that verified nothing passes.
    assert result.exit_code != 0, result.output
    assert "equal to the original" not in result.output, result.output


def _no_traceback(result):
    """The command ended with an error message of ours, not an uncaught Python exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_backup_verify_of_a_corrupt_manifest_is_an_error_not_a_traceback(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "manifest.json").write_text("{not json")
    for command in ("verify", "restore"):
        result = invoke(tmp_path / "home", "backup", command, str(backup))
        _no_traceback(result)  # seen: json.decoder.JSONDecodeError escapes read_manifest
        assert result.exit_code == 1 and "manifest" in result.output, result.output


def test_dlq_show_of_an_id_with_slashes_says_no_such_letter(tmp_path):
    result = invoke(tmp_path / "home", "dlq", "show", "../../etc/passwd")
    _no_traceback(result)  # seen: ValueError "'dead_letters/../../etc/passwd' is a collection path"
    assert result.exit_code == 1 and "dlq list" in result.output, result.output


def test_live_replay_of_a_file_that_is_not_json_names_the_file(tmp_path):
    feed = tmp_path / "feed.json"
    feed.write_text("root:x:0:0:root:/root:/bin/bash\n")
    result = invoke(tmp_path / "home", "live", "--replay", str(feed))
    _no_traceback(result)  # seen: json.decoder.JSONDecodeError from shared/live/feed.py LiveFeed.replay
    assert result.exit_code == 2 and str(feed) in result.output, result.output


def test_a_backup_into_the_home_itself_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dev-token").write_text("t")
    import sqlite3
    connection = sqlite3.connect(home / "documents.sqlite")
    connection.execute("CREATE TABLE documents (path TEXT, data TEXT)")
    connection.commit()
    connection.close()
    result = invoke(home, "backup", "create", str(home / "inner"))
    # seen: exit 0, and the manifest lists inner/documents.sqlite, inner/dev-token ... -- the backup holds a
    # half-written copy of itself, and every later backup of the home nests another one
    assert result.exit_code != 0, result.output


def test_review_decide_of_a_key_with_slashes_says_no_such_decision(tmp_path):
    result = invoke(tmp_path / "home", "validation", "review", "decide", "../x", "--outcome", "met",
                    "--reason", "r", "--by", "me")
    _no_traceback(result)  # seen: ValueError "'validation_decisions/../x' is a collection path"
    assert result.exit_code != 0 and "review list" in result.output, result.output


def test_health_of_a_home_that_does_not_exist_does_not_create_it(tmp_path):
    home = tmp_path / "typo-of-my-home"
    result = invoke(home, "health")
    assert "Traceback" not in result.output
    # seen: every dependency "up" and a fresh documents.sqlite, evidence/, warehouse.duckdb made on the spot:
    # a probe that creates what it probes cannot tell an operator that --home points nowhere
    assert not (home / "documents.sqlite").exists(), sorted(p.name for p in home.iterdir())
