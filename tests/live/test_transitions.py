"""The state-transition rule through the store: monotonic writes, kickoffs, frozen minutes."""
from __future__ import annotations

import pytest

from shared.live.store import UnknownMatch
from tests.live.conftest import KICKOFF, add_match, update


def test_a_newer_write_is_accepted_and_stamped_with_ingestion_time(store, clock):
    add_match(store)
    clock.seconds = KICKOFF + 5
    outcome = store.apply(update(status_id=2, provider_update_time=100, home_score=1, kickoff_ts=KICKOFF))
    match = store.get("m1")
    assert outcome.verdict == "accepted"
    assert (match["status_id"], match["home_score"], match["provider_update_time"]) == (2, 1, 100)
    assert match["last_event_ts"] == match["updated_at"] == KICKOFF + 5
    assert match["first_half_kickoff_ts"] == KICKOFF
    assert (match["minute"], match["minute_text"]) == (1, "1'")


@pytest.mark.parametrize("older", [100, 99, 0])
def test_an_equal_or_older_write_is_rejected_and_changes_nothing(store, clock, older):
    add_match(store)
    store.apply(update(status_id=2, provider_update_time=100, home_score=1))
    before = store.documents.get("live_matches/m1")
    clock.advance(30)
    outcome = store.apply(update(status_id=8, provider_update_time=older, home_score=5))
    assert outcome.verdict == ("duplicate" if older == 100 else "stale")
    after = store.documents.get("live_matches/m1")
    assert after.data == before.data and after.version == before.version


def test_a_write_for_a_match_the_diary_never_created_creates_nothing(store):
    with pytest.raises(UnknownMatch):
        store.apply(update(match_id="ghost"))
    assert store.get("ghost") is None


def test_kickoffs_are_set_on_their_transitions_only_and_never_again(store, clock):
    add_match(store)
    clock.seconds = KICKOFF + 10
    store.apply(update(status_id=2, provider_update_time=1))
    clock.seconds = KICKOFF + 47 * 60
    store.apply(update(status_id=3, provider_update_time=2))
    clock.seconds = KICKOFF + 62 * 60
    store.apply(update(status_id=4, provider_update_time=3, kickoff_ts=KICKOFF + 61 * 60))
    clock.seconds = KICKOFF + 110 * 60
    store.apply(update(status_id=5, provider_update_time=4))
    match = store.get("m1")
    assert match["first_half_kickoff_ts"] == KICKOFF + 10
    assert match["second_half_kickoff_ts"] == KICKOFF + 61 * 60
    assert match["overtime_kickoff_ts"] == KICKOFF + 110 * 60
    # interrupted, then back to the first half and second half: nothing is rewritten
    clock.advance(60)
    store.apply(update(status_id=10, provider_update_time=5))
    store.apply(update(status_id=2, provider_update_time=6, kickoff_ts=1))
    store.apply(update(status_id=3, provider_update_time=7))
    store.apply(update(status_id=4, provider_update_time=8, kickoff_ts=2))
    again = store.get("m1")
    assert [again[k] for k in ("first_half_kickoff_ts", "second_half_kickoff_ts", "overtime_kickoff_ts")] == \
        [match[k] for k in ("first_half_kickoff_ts", "second_half_kickoff_ts", "overtime_kickoff_ts")]


def test_second_half_without_half_time_sets_no_kickoff(store):
    add_match(store)
    store.apply(update(status_id=2, provider_update_time=1))
    store.apply(update(status_id=4, provider_update_time=2))  # 2 -> 4: not the 3 -> 4 transition
    assert store.get("m1")["second_half_kickoff_ts"] is None


@pytest.mark.parametrize("frozen, text", [(3, "HT"), (7, "PEN"), (8, "FT"), (9, "DELAYED"), (10, "INT")])
def test_frozen_statuses_keep_the_stored_minute(store, clock, frozen, text):
    add_match(store)
    clock.seconds = KICKOFF
    store.apply(update(status_id=2, provider_update_time=1))
    clock.seconds = KICKOFF + 30 * 60
    store.apply(update(status_id=2, provider_update_time=2))
    store.documents.update("live_matches/m1", {"minute": 31, "minute_text": "31'"})
    store.apply(update(status_id=frozen, provider_update_time=3))
    match = store.get("m1")
    assert (match["minute"], match["minute_text"]) == (31, text)
