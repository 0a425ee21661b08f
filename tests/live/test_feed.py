"""The local match feed: realistic scripts, and a chaotic run through the whole subsystem converging."""
from __future__ import annotations

import random

import pytest

from shared.live.feed import LiveFeed, SimClock, script_match
from shared.live.local_run import chaos_faults, run_local
from shared.live.model import COLLECTION


def test_scripts_play_football_in_order_with_strictly_increasing_provider_times():
    rng = random.Random(3)
    for n in range(200):
        events = script_match(rng, 1_767_000_000, cup=n % 2 == 0)
        statuses = [e.status_id for e in events if e.status_id not in (9, 10)]
        order = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
        assert order in ([2, 3, 4, 8], [2, 3, 4, 5, 8], [2, 3, 4, 5, 7, 8])
        assert all(a.at < b.at for a, b in zip(events, events[1:]))
        assert order[-1] == 8 and (order[3] == 8 or n % 2 == 0)  # extra time only in cup matches


def test_a_chaotic_run_converges_to_the_provider_and_keeps_the_watchdog_busy(tmp_path):
    clock = SimClock(start=1_767_000_000, speed=600)
    feed = LiveFeed.synthetic(6, clock, seed=2, chaos=5)
    summary = run_local(tmp_path, feed, faults=chaos_faults(5), max_real_seconds=120)
    assert summary["converged_to_provider_final_state"] == 6 and summary["still_live"] == 0
    assert summary["push_verdicts"].get("duplicate", 0) > 0 and summary["push_verdicts"].get("stale", 0) > 0
    assert summary["watchdog_flags"]  # silent matches were flagged
    assert summary["dead_letters"] == 0


@pytest.mark.emulator
def test_a_chaotic_run_into_the_firestore_emulator_converges_on_the_feed_clock(tmp_path, emulators, unique_name):
    """`sportsflow --backend emulator live`: the matches live in Firestore, staleness and minutes on
    the simulated clock (the emulator's own clock is real time)."""
    from shared.adapters.gcp.firestore import FirestoreDocumentStore

    documents = FirestoreDocumentStore(emulators["GOOGLE_CLOUD_PROJECT"], namespace=unique_name)
    clock = SimClock(start=1_767_000_000, speed=600)
    feed = LiveFeed.synthetic(3, clock, seed=2, chaos=5)
    try:
        summary = run_local(tmp_path, feed, faults=chaos_faults(5), max_real_seconds=300, documents=documents)
        assert summary["converged_to_provider_final_state"] == 3 and summary["still_live"] == 0
        assert summary["push_verdicts"].get("duplicate", 0) > 0 and summary["dead_letters"] == 0
        assert documents.count(COLLECTION) == 3
    finally:
        documents.close()


def test_a_clock_faster_than_the_loop_is_reported_not_passed_quietly(tmp_path):
    """At a speed where one turn of the loop spans several 15 s minute ticks, the summary says how
    many ticks were skipped and warns (the run would otherwise look as if every rule had been exercised)."""
    clock = SimClock(start=1_767_000_000, speed=20_000)
    summary = run_local(tmp_path, LiveFeed.synthetic(2, clock, seed=2), max_real_seconds=60)
    assert summary["skipped_minute_ticks"] > 0 and summary["max_loop_gap_sim_seconds"] > 30
    assert "lower --speed" in summary["warnings"][0]


def test_a_loop_keeping_up_with_the_clock_warns_of_nothing():
    from shared.live.local_run import _LoopLag

    lag = _LoopLag()
    for now in range(0, 600, 12):  # a turn every 12 simulated seconds: every 15 s tick is seen
        lag.observe(float(now))
    assert lag.summary() == {"max_loop_gap_sim_seconds": 12.0, "skipped_minute_ticks": 0, "warnings": []}
    lag.observe(700.0)  # a 112 s turn skips six ticks
    assert lag.summary()["skipped_minute_ticks"] == 6
