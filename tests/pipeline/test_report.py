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


def _reference_checksum(rows) -> str:
    """The checksum as first written (json.dumps of isinstance-canonical values): the fast
    path must give exactly these values, or every recorded checksum would change."""
    import hashlib
    import json
    from datetime import date, datetime

    from shared.pipeline.report import VOLATILE_COLUMNS

    def canonical(value):
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        if isinstance(value, str) and value[:1] in "[{":
            try:
                return canonical(json.loads(value))
            except ValueError:
                return value
        if isinstance(value, dict):
            return {k: canonical(v) for k, v in sorted(value.items())}
        if isinstance(value, (list, tuple)):
            return [canonical(v) for v in value]
        return value

    hashes = sorted(hashlib.sha256(json.dumps({k: canonical(v) for k, v in row.items() if k not in VOLATILE_COLUMNS},
                                              sort_keys=True, separators=(",", ":")).encode()).hexdigest()
                    for row in rows)
    return hashlib.sha256("".join(hashes).encode()).hexdigest()


def test_the_checksum_is_the_reference_checksum_for_every_kind_of_value() -> None:
    from datetime import date, datetime, timezone

    from shared.pipeline.report import content_checksum

    class Score(float):
        pass

    rows = [{"a": 1, "b": True, "c": None, "d": "x", "e": "", "f": "[1, 2.0000000001]", "g": '{"z": 1, "y": [1.5]}',
             "h": "{not json", "i": 1.23456789012, "j": Score(2.5), "k": date(2025, 1, 15),
             "l": datetime(2025, 1, 15, 4, 5, 6, 7, tzinfo=timezone.utc), "m": {"b": [1, {"c": 0.1 + 0.2}], "a": 1},
             "n": (1, "2"), "p": "é ü", "run_id": "volatile", "q": -0.0, "r": 10**20},
            {"a": 2, "d": "[", "z": float("inf")}]

    assert content_checksum(rows) == _reference_checksum(rows)
