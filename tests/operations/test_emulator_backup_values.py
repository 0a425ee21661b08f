"""The tagged JSON of an emulator backup keeps every Firestore value's type through a round trip."""
from __future__ import annotations

from datetime import datetime, timezone

from proto.datetime_helpers import DatetimeWithNanoseconds

from shared.operations.emulator_backup import plain, tagged, untagged

VALUE = {"at": DatetimeWithNanoseconds(2025, 1, 15, 6, 0, 1, 123456, tzinfo=timezone.utc), "blob": b"\x00\xff",
         "nested": {"list": [1, 2.5, None, True, "s", {"$timestamp": "not a timestamp"}]},
         "looks_like_a_tag": {"$bytes": "AAA="}, "wrapped": {"$map": {"x": 1}}}


def test_a_document_comes_back_with_the_same_types():
    restored = untagged(tagged(VALUE))
    assert restored == VALUE
    assert type(restored["at"]) is DatetimeWithNanoseconds and type(restored["blob"]) is bytes
    assert restored["looks_like_a_tag"] == {"$bytes": "AAA="}  # a map stays a map
    assert tagged(restored) == tagged(VALUE)


def test_a_value_restored_as_another_type_hashes_differently():
    assert tagged({"at": VALUE["at"]}) != tagged({"at": {"$timestamp": VALUE["at"].rfc3339()}})
    assert tagged({"b": b"x"}) != tagged({"b": "eA=="})


def test_warehouse_values_load_back_in_iso_form():
    assert plain(datetime(2025, 1, 15, 6, 0, tzinfo=timezone.utc)) == "2025-01-15T06:00:00+00:00"
    assert plain({"a": [1]}) == {"a": [1]}
