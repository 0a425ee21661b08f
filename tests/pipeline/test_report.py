from datetime import date, datetime, timezone

from shared.pipeline.report import content_checksum

ROWS = [{"game_date": date(2025, 1, 15), "player_id": 1, "points": 30, "ts": 0.61234,
         "run_id": "a", "processed_at": datetime(2025, 1, 16, tzinfo=timezone.utc)},
        {"game_date": date(2025, 1, 15), "player_id": 2, "points": 12, "ts": None,
         "run_id": "a", "processed_at": datetime(2025, 1, 16, tzinfo=timezone.utc)}]


def test_checksum_ignores_order_run_ids_and_processing_times():
    rerun = [{**row, "run_id": "b", "processed_at": datetime(2026, 1, 1, tzinfo=timezone.utc)} for row in ROWS]
    assert content_checksum(ROWS) == content_checksum(list(reversed(rerun)))


def test_checksum_sees_content_duplicates_and_losses():
    base = content_checksum(ROWS)
    assert content_checksum([{**ROWS[0], "points": 31}, ROWS[1]]) != base
    assert content_checksum(ROWS + [ROWS[0]]) != base  # a duplicated row is a different table
    assert content_checksum(ROWS[:1]) != base


def test_checksum_is_the_same_whichever_backend_spelled_the_values():
    as_json_text = [{**ROWS[0], "features": '{"b": 1, "a": [1.0, 2]}'}]
    as_objects = [{**ROWS[0], "features": {"a": [1.0, 2], "b": 1}}]
    assert content_checksum(as_json_text) == content_checksum(as_objects)
