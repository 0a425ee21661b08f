"""The game monitor and the two replay sources: exactly one game-final per game version, restarts,
late corrections, and per-source faults (outage, delay, wrong score, missing inning)."""
from __future__ import annotations

import httpx

from shared.contracts.validation import GameFinal
from shared.providers.faults import ProviderFaults
from shared.runtime import crash_points
from shared.validation import records, system
from shared.validation.reliability import ReliabilityRecorder
from shared.validation.replay import DataFaults
from shared.validation.source_payloads import ROUTES
from shared.validation.sources import IDEMPOTENCY_HEADER, idempotency_key
from tests.validation.conftest import DAY, GAMES

DODGERS, GIANTS = GAMES[0].game_id, GAMES[1].game_id


def truth_of(decision: dict) -> str:
    game = next(g for g in GAMES if g.game_id == decision["game_id"])
    return "met" if system.catalogue().by_id(decision["promotion_id"]).is_met(game) else "not_met"


def test_both_sources_serve_their_own_shape_of_the_same_games(harness) -> None:
    espn = httpx.get(harness.urls["espn"] + ROUTES["espn"], params={"date": DAY.isoformat()}).json()
    mlb = httpx.get(harness.urls["mlb"] + ROUTES["mlb"], params={"date": DAY.isoformat()}).json()
    assert {e["competitions"][0]["competitors"][0]["team"]["abbreviation"] for e in espn["events"]} == \
        {"LAD", "SF", "NYY", "NYM"}
    assert {g["teams"]["home"]["team"]["id"] for g in mlb["dates"][0]["games"]} == {119, 137, 147, 121}
    assert httpx.get(harness.urls["espn"] + ROUTES["mlb"], params={"date": DAY.isoformat()}).status_code == 404


def test_each_game_is_announced_once_and_a_restarted_monitor_repeats_none(harness) -> None:
    first = harness.poll()
    assert len(first.announced) == len(GAMES)
    for _ in range(2):  # new monitor processes, same checkpoint
        again = harness.poll()
        assert (again.announced, again.redriven, again.unchanged) == ([], [], len(GAMES))


def test_a_monitor_killed_after_recording_a_version_announces_it_on_restart(harness) -> None:
    class DieAtSecondGame:
        seen = 0

        def at(self, name, context):
            if name == records.GAME_CLAIMED:
                self.seen += 1
                if self.seen == 2:
                    raise crash_points.SimulatedCrash("monitor died")

    crash_points.install(DieAtSecondGame())
    try:
        harness.poll()
    except crash_points.SimulatedCrash:
        harness.deliver()
    crash_points.install(None)
    restarted = harness.poll()
    assert len(restarted.redriven) == 1 and len(restarted.announced) == len(GAMES) - 2
    games = harness.documents.query(records.GAMES)
    assert all(doc.data["published"] and doc.data["version"] == 1 for doc in games)
    assert {d["outcome"] for d in harness.decisions().values()} <= {"met", "not_met"}


def test_a_late_correction_is_a_new_version_revalidating_exactly_that_games_promotions(make_harness) -> None:
    corrected = {DODGERS}
    harness = make_harness(data_faults={"espn": DataFaults(corrected=set(corrected)),
                                        "mlb": DataFaults(corrected=set(corrected))})
    harness.poll()
    first = harness.decisions()
    harness.servers.apply_corrections()
    report = harness.poll()
    assert report.announced == [(DODGERS, 2)]
    after = harness.decisions()
    new = {k: d for k, d in after.items() if k not in first}
    catalogue = system.catalogue()
    expected = {records.decision_key(DODGERS, 2, p.id, p.version) for p in catalogue.for_game("LAN", "SDN", DAY)}
    assert set(new) == expected
    assert all(after[k] == first[k] for k in first)  # version 1 decisions stay as they were: no overwrite
    assert all(d["outcome"] == truth_of(d) for d in new.values())
    event = GameFinal.model_validate(harness.documents.get(f"{records.GAMES}/{DODGERS}").data["event"])
    assert event.game_version == 2


def test_a_wrong_score_sends_the_affected_decisions_to_review_and_none_is_decided_wrongly(make_harness) -> None:
    harness = make_harness(data_faults={"espn": DataFaults(wrong_score={DODGERS, GIANTS}, missing_inning=set())})
    harness.poll()
    decisions = harness.decisions()
    reviews = {k for k, d in decisions.items() if d["outcome"] == "review"}
    assert reviews and all(decisions[k]["game_id"] in {DODGERS, GIANTS} for k in reviews)
    assert all(d["outcome"] == truth_of(d) for d in decisions.values() if d["outcome"] != "review")
    queued = {doc.id for doc in harness.documents.query(records.REVIEWS)}
    assert queued == reviews
    stats = ReliabilityRecorder(harness.documents).stats("espn")
    assert (stats["games"], stats["disagreed"]) == (len(GAMES), 2)


def test_a_missing_inning_is_never_trusted(make_harness) -> None:
    harness = make_harness(data_faults={"mlb": DataFaults(missing_inning={DODGERS})})
    harness.poll()
    decisions = [d for d in harness.decisions().values() if d["game_id"] == DODGERS]
    assert decisions and all(d["outcome"] == "review" for d in decisions)
    assert all("line score does not add up" in d["reason"] for d in decisions)


def test_an_outage_defers_the_date_then_goes_on_without_the_source_and_recovers(make_harness) -> None:
    harness = make_harness(transport_faults={"espn": ProviderFaults(0), "mlb": ProviderFaults(1)})
    harness.servers.servers["mlb"].faults.start_outage()
    assert harness.poll().deferred and harness.poll().deferred  # two rounds waiting for MLB
    gave_up = harness.poll()
    assert not gave_up.deferred and "mlb" in gave_up.source_problems
    assert {d["outcome"] for d in harness.decisions().values()} == {"review"}  # never on one source's word
    harness.servers.servers["mlb"].faults.end_outage()
    recovered = harness.poll()  # MLB's entries are new: a new version of each game, decided
    assert sorted(v for _, v in recovered.announced) == [2] * len(GAMES)
    latest = [d for d in harness.decisions().values() if d["game_version"] == 2]
    assert latest and all(d["outcome"] == truth_of(d) for d in latest)


def test_a_slow_source_is_waited_for_and_every_request_carries_an_idempotency_key(make_harness) -> None:
    seen = []
    harness = make_harness()
    harness.servers.servers["espn"].faults.slow_next(2, seconds=0.3)
    from shared.providers import server as server_module
    handle = server_module._ProviderRequestHandler.do_GET

    def recording(self):
        seen.append(self.headers.get(IDEMPOTENCY_HEADER))
        handle(self)
    server_module._ProviderRequestHandler.do_GET = recording
    try:
        harness.poll()
    finally:
        server_module._ProviderRequestHandler.do_GET = handle
    assert seen and all(seen)
    assert idempotency_key("espn", DAY, 1) in seen
    assert {d["outcome"] for d in harness.decisions().values()} <= {"met", "not_met"}
