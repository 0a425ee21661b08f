"""The review queue and overrides (every human action an evidence record; originals untouched),
SPEC §2's alerts on recorded metrics, notifications, and the synthetic validation."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from shared.adapters.notifiers import EmailStubNotifier
from shared.config import ConfigError
from shared.evidence_log.verify import verify_log
from shared.validation import alerts, records, system
from shared.validation.notifications import decision_notifier
from shared.validation.replay import DataFaults
from shared.validation.review import ReviewError, ReviewQueue
from shared.validation.synthetic import run_synthetic
from tests.validation.conftest import GAMES, Harness


def queue_of(harness) -> ReviewQueue:
    return ReviewQueue(harness.documents, harness.evidence, harness.log(signing=False))


def test_a_review_is_decided_with_a_reason_as_an_evidence_record_and_the_original_stays(make_harness) -> None:
    harness = make_harness(data_faults={"espn": DataFaults(wrong_score={GAMES[1].game_id})})
    harness.poll()
    queue = queue_of(harness)
    waiting = queue.list()
    assert waiting and all(item["status"] == "open" for item in waiting)
    key = waiting[0]["decision_key"]
    original = harness.decisions()[key]
    with pytest.raises(ReviewError, match="reason"):
        queue.decide(key, "not_met", reason=" ", actor="ana@ops")
    with pytest.raises(ReviewError, match="outcome"):
        queue.decide(key, "maybe", reason="x", actor="ana@ops")
    action = queue.decide(key, "not_met", reason="MLB box score confirmed; ESPN feed was wrong", actor="ana@ops")
    assert action["before"] == {"outcome": "review", "by": "consensus"}
    assert action["after"] == {"outcome": "not_met"} and action["actor"] == "ana@ops"
    stored = json.loads(harness.evidence.get(action["evidence_key"]))
    assert stored["reason"].startswith("MLB box score") and stored["original"]["outcome"] == "review"
    assert harness.decisions()[key] == original  # never edited
    assert queue.effective(key)["outcome"] == "not_met"
    assert key not in {item["decision_key"] for item in queue.list()}
    second = queue.decide(key, "met", reason="second look", actor="bo@ops")
    assert second["before"]["outcome"] == "not_met" and queue.effective(key)["by"] == "bo@ops"
    assert len(queue.overrides(key)) == 2
    harness.log().checkpoint()
    assert verify_log(harness.log(signing=False), system.trusted_verifier(None, harness.services)).ok


def test_an_unknown_decision_cannot_be_overridden(harness) -> None:
    with pytest.raises(ReviewError, match="no decision"):
        queue_of(harness).decide("nope", "met", reason="r", actor="a")


def _metric(now, seconds_ago: float, duration_ms: float, succeeded: bool = True) -> dict:
    return {"finished_at": now - timedelta(seconds=seconds_ago), "duration_ms": duration_ms, "succeeded": succeeded}


def test_alerts_follow_the_spec_thresholds() -> None:
    now = datetime(2024, 6, 1, 20, tzinfo=timezone.utc)
    fast = [_metric(now, i, 30) for i in range(100)]
    assert alerts.evaluate(fast, now) == []
    five_pct_slow = fast[:95] + [_metric(now, 1, 2500) for _ in range(5)]
    assert alerts.evaluate(five_pct_slow, now) == []  # "more than 5 %"
    six_pct_slow = fast[:94] + [_metric(now, 1, 2500) for _ in range(6)]
    assert [a.name for a in alerts.evaluate(six_pct_slow, now)] == ["validation latency"]
    old_slow = fast + [_metric(now, 400, 2500) for _ in range(50)]  # outside the 5-minute window
    assert alerts.evaluate(old_slow, now) == []
    failures = fast[:98] + [_metric(now, 600, 30, succeeded=False) for _ in range(2)]
    assert [a.name for a in alerts.evaluate(failures, now)] == ["validation failures"]
    assert [a.name for a in alerts.evaluate(fast, now, integrity_failures=1)] == ["evidence integrity failure"]


def test_alerts_read_the_recorded_metrics_and_every_validation_logs_its_line(harness, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="sportsflow.validation"):
        harness.poll()
    finished = [r for r in caplog.records if r.getMessage() == "validation finished"]
    assert len(finished) == len(GAMES)
    assert all(r.fields["succeeded"] and r.fields["duration_ms"] >= 0 for r in finished)
    assert len(alerts.recorded_metrics(harness.documents, harness.documents.now() - timedelta(hours=1))) == len(GAMES)
    assert alerts.evaluate_recorded(harness.documents) == []


def test_notifications_are_delivered_once_per_decision(harness, monkeypatch) -> None:
    monkeypatch.setenv("SPORTSFLOW_NOTIFIER", "email")
    harness.poll()
    outbox = sorted((harness.services.settings.home / "outbox").glob("*.eml"))
    decisions = harness.decisions()
    assert len(outbox) == len(decisions)  # one e-mail per decision, through the notifier port
    assert {path.stem for path in outbox} == {d["decision_key"].replace(":", "_") for d in decisions.values()}
    assert isinstance(decision_notifier(harness.services.settings), EmailStubNotifier)
    monkeypatch.setenv("SPORTSFLOW_NOTIFIER", "pigeon")
    with pytest.raises(ConfigError):
        decision_notifier(harness.services.settings)


def test_the_synthetic_validation_runs_the_whole_path_every_time(tmp_path, caplog) -> None:
    with Harness(tmp_path) as harness:
        first, second = run_synthetic(harness.services), run_synthetic(harness.services)
        assert first.ok and second.ok, (first, second)
        assert (first.game_version, second.game_version) == (1, 2)  # a real validation each run
        synthetic = [d for d in harness.decisions().values() if d["synthetic"]]
        assert len(synthetic) == len(first.decisions) + len(second.decisions)


def test_a_failing_synthetic_validation_logs_the_alert_line_naming_the_step(tmp_path, caplog, monkeypatch) -> None:
    with Harness(tmp_path) as harness:
        monkeypatch.setattr("shared.validation.service.OutcomeValidator.validate",
                            lambda self, event: (_ for _ in ()).throw(RuntimeError("validator down")))
        with caplog.at_level(logging.ERROR, logger="sportsflow.validation.synthetic"):
            result = run_synthetic(harness.services)
        assert not result.ok and result.step == "validation"
        (line,) = [r for r in caplog.records if r.getMessage() == "synthetic validation failed"]
        assert line.fields["step"] == "validation"
        assert records.DECISIONS  # (the decisions collection exists as a name; nothing was decided)
        assert not [d for d in harness.decisions().values() if d["game_version"] == result.game_version]
