"""Seed 001's "Do not break invariants" 1–15, one test each, named after it.

Where an invariant is about how state evolves, the test is a hypothesis property over random
interleavings of duplicated, reordered and stale provider updates, minute ticks, watchdog
reconciles, clock jumps and restarts (tests/live/interleavings.py); every step must keep it.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.live import read_api
from shared.live.model import LiveProviderUpdate
from shared.live.provider import select_match
from shared.live.status import FROZEN, KICKOFF_FIELDS, KICKOFF_TRANSITIONS
from shared.live.store import MINUTE_FIELDS, UnknownMatch
from tests.conftest import REPO_ROOT
from tests.live.conftest import KICKOFF, add_match, update
from tests.live.interleavings import Run, scenarios

LIVE_PACKAGE = REPO_ROOT / "shared" / "live"
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TIME_FIELDS = ("match_time", "provider_update_time", "last_event_ts", "updated_at", "status_since_ts",
               "first_half_kickoff_ts", "second_half_kickoff_ts", "overtime_kickoff_ts", "last_minute_update_ts",
               "created_at")


def _changed(step) -> set[str]:
    return {k for k in step.after.keys() | step.before.keys() if step.after.get(k) != step.before.get(k)}


@PROPERTY
@given(scenarios())
def test_invariant_01_db_time_storage_unix_seconds_utc(scenario):
    timeline, ops = scenario
    for step in Run(timeline).play(ops).steps:
        for name in TIME_FIELDS:
            assert step.after.get(name) is None or type(step.after[name]) is int, (name, step.after[name])
        assert not {k for k in step.after if "offset" in k or "tz" in k or "tsi" in k.lower()}


def test_invariant_01_db_time_storage_diary_times_become_utc_seconds(store):
    add_match(store, "a", "2025-12-29T20:00:00+03:00")
    assert store.get("a")["match_time"] == 1_767_027_600 and store.get("a")["diary_date"] == "2025-12-29"


@PROPERTY
@given(scenarios())
def test_invariant_02_minute_engine_isolation_never_touches_updated_at(scenario):
    timeline, ops = scenario
    for step in Run(timeline).play(ops).steps:
        if step.op[0] == "tick":
            assert _changed(step) <= MINUTE_FIELDS
            assert step.after.get("updated_at") == step.before.get("updated_at")


@PROPERTY
@given(scenarios())
def test_invariant_03_optimistic_locking_provider_writes_are_monotonic(scenario):
    timeline, ops = scenario
    run = Run(timeline).play(ops)
    for step in run.steps:
        offered = run.update_of(step)
        before_ptu, after_ptu = step.before.get("provider_update_time"), step.after.get("provider_update_time")
        assert before_ptu is None or (after_ptu is not None and after_ptu >= before_ptu)
        if offered is not None and before_ptu is not None and offered.provider_update_time <= before_ptu:
            assert step.after_version == step.before_version  # rejected: nothing written
    newest = timeline[-1]
    final = run.steps[-1].after
    assert (final["provider_update_time"], final["status_id"], final["home_score"], final["away_score"]) == (
        newest.provider_update_time, newest.status_id, newest.home_score, newest.away_score)


def test_invariant_04_controller_db_only_read_api_makes_no_provider_call(store, monkeypatch):
    imported = {node.module for node in ast.walk(ast.parse(Path(read_api.__file__).read_text()))
                if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m and ("provider" in m or "resilience" in m or "httpx" in m)}

    def no_network(*args, **kwargs):
        raise AssertionError("the read API called out")

    monkeypatch.setattr(httpx.Client, "send", no_network)
    add_match(store, "m1")
    services = type("S", (), {"documents": store.documents})()
    import flask
    for path in ("/matches/live", "/matches/diary?date=2025-12-29", "/matches/m1"):
        with flask.Flask("t").test_request_context(path):
            assert read_api.handle_read_request(flask.request, services=services).status_code == 200


def test_invariant_05_ui_rendering_only_api_serves_the_stored_minute_text(store, clock):
    add_match(store, "m1")
    clock.seconds = KICKOFF
    store.apply(update(status_id=2, provider_update_time=1))
    clock.seconds = KICKOFF + 30 * 60  # the wall clock says 31', but the engine has not ticked yet
    [shown] = read_api.live_matches(store)
    assert shown["minute_text"] == "1'"
    assert all(isinstance(m["minute_text"], str) for m in read_api.diary_matches(store, "2025-12-29"))


def test_invariant_06_live_endpoint_semantics_include_status_1_once_match_time_passed(store, clock):
    add_match(store, "m1", KICKOFF)
    clock.seconds = KICKOFF - 1
    assert read_api.live_matches(store) == []
    clock.seconds = KICKOFF
    assert [m["match_id"] for m in read_api.live_matches(store)] == ["m1"]
    store.apply(update(status_id=8, provider_update_time=1))
    assert read_api.live_matches(store) == []


@PROPERTY
@given(scenarios())
def test_invariant_07_watchdog_non_intrusive_never_overwrites_newer_provider_state(scenario):
    timeline, ops = scenario
    run = Run(timeline).play(ops)
    for step in run.steps:
        if step.op[0] != "watchdog":
            continue
        offered = run.update_of(step)
        if step.after_version != step.before_version:
            assert offered is not None
            assert offered.provider_update_time > (step.before.get("provider_update_time") or -1)
            assert step.after["provider_update_time"] == offered.provider_update_time


@PROPERTY
@given(scenarios())
def test_invariant_08_kickoff_write_once(scenario):
    timeline, ops = scenario
    for step in Run(timeline).play(ops).steps:
        for name in KICKOFF_FIELDS:
            if step.before.get(name) is not None:
                assert step.after.get(name) == step.before[name]


@PROPERTY
@given(scenarios())
def test_invariant_09_minute_update_condition_only_when_the_minute_changed(scenario):
    timeline, ops = scenario
    for step in Run(timeline).play(ops).steps:
        if step.op[0] == "tick" and step.after_version != step.before_version:
            assert (step.after.get("minute"), step.after.get("minute_text")) != (
                step.before.get("minute"), step.before.get("minute_text"))


@PROPERTY
@given(scenarios())
def test_invariant_10_freeze_status_handling_keeps_the_minute(scenario):
    timeline, ops = scenario
    for step in Run(timeline).play(ops).steps:
        if step.after["status_id"] in FROZEN:
            assert step.after.get("minute") == step.before.get("minute")
            if step.before.get("minute") is not None:
                assert step.after["minute"] is not None


@PROPERTY
@given(scenarios())
def test_invariant_11_provider_update_time_comes_from_provider_payloads(scenario):
    timeline, ops = scenario
    offered = {u.provider_update_time for u in timeline}
    for step in Run(timeline).play(ops).steps:
        assert step.after.get("provider_update_time") in offered | {None}


@PROPERTY
@given(scenarios())
def test_invariant_12_last_event_ts_is_the_ingestion_time(scenario):
    timeline, ops = scenario
    for step in Run(timeline).play(ops).steps:
        if step.after.get("provider_update_time") != step.before.get("provider_update_time"):
            assert step.after["last_event_ts"] == step.after["updated_at"] == step.now
        else:
            assert step.after.get("last_event_ts") == step.before.get("last_event_ts")


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 50)), max_size=8),
       st.sampled_from(["a", "b", "c", "d"]))
def test_invariant_13_no_fallback_match_selection(entries, wanted):
    updates = [LiveProviderUpdate(match_id=m, status_id=2, provider_update_time=t) for m, t in entries]
    chosen = select_match(updates, wanted)
    if chosen is None:
        assert wanted not in {m for m, _ in entries}
    else:
        assert chosen.match_id == wanted
        assert chosen.provider_update_time == max(t for m, t in entries if m == wanted)


def test_invariant_13_no_fallback_match_selection_no_positional_picks_in_the_code():
    positional = re.compile(r"\[\s*0\s*\]")
    for source in LIVE_PACKAGE.rglob("*.py"):
        assert not positional.search(source.read_text()), f"{source}: a [0] pick (invariant 13)"


@PROPERTY
@given(scenarios())
def test_invariant_14_db_only_mode_nothing_but_the_diary_creates_matches(scenario):
    timeline, ops = scenario
    run = Run(timeline)
    steps = run.play(ops + [("deliver", 0)]).steps
    assert all(step.before["match_id"] == step.after["match_id"] == "m1" for step in steps)


def test_invariant_14_db_only_mode_a_write_for_an_unknown_match_creates_nothing(store):
    add_match(store, "m1")
    try:
        store.apply(update(match_id="not_in_diary"))
    except UnknownMatch:
        pass
    assert [d.id for d in store.documents.query("live_matches")] == ["m1"]


@PROPERTY
@given(scenarios())
def test_invariant_15_status_transition_rules_kickoffs_only_on_their_transitions(scenario):
    timeline, ops = scenario
    for step in Run(timeline).play(ops).steps:
        for name in KICKOFF_FIELDS:
            if step.before.get(name) is None and step.after.get(name) is not None:
                assert step.op[0] in ("deliver", "watchdog")
                allowed = KICKOFF_TRANSITIONS[name]
                assert any(new == step.after["status_id"] and before in (None, step.before["status_id"])
                           and step.before["status_id"] != new for before, new in allowed)
