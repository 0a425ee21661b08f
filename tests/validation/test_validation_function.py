"""The validation function: one decision per (game, game version, promotion, rule version), never
without its evidence, whatever is redelivered, duplicated or crashed."""
from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from shared.contracts.validation import GameFinal
from shared.evidence_log.verify import verify_log
from shared.runtime import crash_points
from shared.validation import records, system
from shared.validation.service import OutcomeValidator
from shared.validation.teams import TEAMS
from tests.validation.conftest import DAY, GAMES, facts


def expected_outcomes() -> dict[str, str]:
    catalogue = system.catalogue()
    return {records.decision_key(g.game_id, 1, p.id, p.version): "met" if p.is_met(g) else "not_met"
            for g in GAMES for p in catalogue.for_game(g.home, g.away, g.game_date)}


def announced_events(harness) -> list[GameFinal]:
    return [GameFinal.model_validate(doc.data["event"]) for doc in harness.documents.query(records.GAMES)]


def test_every_promotion_of_every_game_is_decided_as_the_game_went(harness) -> None:
    report = harness.poll()
    assert sorted(g for g, _ in report.announced) == sorted(g.game_id for g in GAMES)
    decisions = harness.decisions()
    assert {k: d["outcome"] for k, d in decisions.items()} == expected_outcomes()
    for decision in decisions.values():  # each decision names its evidence, which holds what it says
        record = harness.evidence.get(decision["evidence_key"])
        assert decision["evidence_sha256"] in {o.sha256 for o in [harness.evidence.head(decision["evidence_key"])]}
        assert b'"weights":{"min_confidence":1.0,"weights":{"espn":0.6,"mlb":0.4}}' in record
        assert decision["published"] is True
    assert len(harness.documents.query(records.NOTIFICATIONS)) == len(decisions)


def test_polling_again_and_redelivering_game_final_decide_nothing_twice(harness) -> None:
    harness.poll()
    before, leaves = harness.decisions(), harness.log().size()
    assert harness.poll().announced == []  # unchanged games are not announced again
    validator = system.validator(harness.services, lambda topic, message: None)
    for event in announced_events(harness):
        for _ in range(3):
            result = validator.validate(event)
            assert result.new_decisions == 0
    assert harness.decisions() == before and harness.log().size() == leaves


@pytest.mark.parametrize("point", [records.EVIDENCE_STORED, records.DECISION_RECORDED])
def test_a_crash_between_two_effects_leaves_exactly_one_decision_with_its_evidence(harness, point) -> None:
    crash = crash_points.CrashOnce(point)
    crash_points.install(crash)
    harness.poll()
    assert crash.fired == 1
    decisions = harness.decisions()
    assert {k: d["outcome"] for k, d in decisions.items()} == expected_outcomes()
    assert all(d["published"] for d in decisions.values())
    leaves = harness.log().leaves()
    assert len({leaf.key for leaf in leaves}) == len(leaves)  # no record logged twice
    logged = {leaf.key for leaf in leaves}
    assert all(d["evidence_key"] in logged for d in decisions.values())


def test_no_decision_is_recorded_when_its_evidence_cannot_be_stored(harness, monkeypatch) -> None:
    with harness.monitor() as monitor:
        published = []
        monitor.publish = lambda topic, message: published.append(message)
        monitor.poll(DAY)
    validator = system.validator(harness.services, lambda topic, message: None)
    original = harness.evidence.put

    def failing_put(key, data, **kwargs):
        if key.startswith("validation/decisions/"):
            raise OSError("disk full")
        return original(key, data, **kwargs)

    monkeypatch.setattr(harness.evidence, "put", failing_put)
    with pytest.raises(OSError):
        validator.validate(published[0])
    assert harness.decisions() == {}
    assert not [leaf for leaf in harness.log().leaves() if leaf.key.startswith("validation/decisions/")]
    monkeypatch.setattr(harness.evidence, "put", original)
    assert validator.validate(published[0]).new_decisions > 0


def test_fifty_concurrent_validations_without_an_error(make_harness) -> None:
    rng = random.Random(5)
    days = (date(2024, 7, 1), date(2024, 7, 2))
    games = []
    for day in days:
        clubs = [t.retro for t in TEAMS]
        rng.shuffle(clubs)
        for home, away in zip(clubs[:25], clubs[25:] + clubs[:20]):
            games.append(facts(home, away, [rng.randint(0, 3) for _ in range(9)],
                               [rng.randint(0, 3) for _ in range(9)], day=day))
    harness = make_harness(games=games)
    events = []
    with harness.monitor() as monitor:
        monitor.publish = lambda topic, message: events.append(message)
        for day in days:
            monitor.poll(day)
    assert len(events) == 50
    lock = threading.Lock()
    sent = []

    def publish(topic, message):
        with lock:
            sent.append(message)

    validator = OutcomeValidator(harness.documents, harness.evidence, harness.log(signing=False),
                                 system.catalogue(), publish)
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(validator.validate, events))
    catalogue = system.catalogue()
    truth = {g.game_id: g for g in games}
    expected = sum(len(catalogue.for_game(g.home, g.away, g.game_date)) for g in games)
    assert sum(r.new_decisions for r in results) == expected == len(harness.decisions()) == len(sent)
    for decision in harness.decisions().values():
        promotion = catalogue.by_id(decision["promotion_id"])
        assert decision["outcome"] == ("met" if promotion.is_met(truth[decision["game_id"]]) else "not_met")
    log = harness.log()
    log.checkpoint()
    assert verify_log(log, system.trusted_verifier(None, harness.services)).ok
