"""`check_alerts`: one notice per firing episode (not per evaluation), a new episode after the rule
went quiet, a failed notice re-sent with the same id; `sportsflow alerts check` exits 1 when one fires."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from shared.adapters.local.documents import SqliteDocumentStore
from shared.metrics.alerting import EPISODES, check_alerts
from shared.metrics.recorder import LocalMetricsStore, process_metrics
from shared.ports.notifier import NotificationFailed

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


class Recording:
    def __init__(self):
        self.notices, self.fail = [], False

    def announce(self, notice):
        if self.fail:
            raise NotificationFailed("webhook down")
        self.notices.append(notice)

    def close(self):
        pass


@pytest.fixture
def setup(tmp_path):
    documents = SqliteDocumentStore(tmp_path / "documents.sqlite")
    yield documents, LocalMetricsStore(tmp_path / "metrics.sqlite"), Recording()
    documents.close()


def test_an_episode_is_announced_once_however_often_it_is_evaluated(setup) -> None:
    documents, store, notifier = setup
    store.record("evidence_integrity_failure", at=NOW - timedelta(seconds=5), key="k")
    for minute in range(4):  # still firing at every evaluation within the 5-minute window
        result = check_alerts(documents, store, notifier, NOW + timedelta(minutes=minute))
        assert [a.rule for a in result.firing] == ["evidence integrity failure"]
    assert len(notifier.notices) == 1
    assert documents.get(f"{EPISODES}/evidence-integrity-failure").data["announced"] is True


def test_a_rule_that_went_quiet_and_fires_again_is_a_new_episode(setup) -> None:
    documents, store, notifier = setup
    store.record("evidence_integrity_failure", at=NOW - timedelta(seconds=5), key="k")
    check_alerts(documents, store, notifier, NOW)
    quiet = check_alerts(documents, store, notifier, NOW + timedelta(minutes=10))
    assert quiet.resolved == ["evidence integrity failure"] and not quiet.firing
    store.record("evidence_integrity_failure", at=NOW + timedelta(minutes=11), key="k2")
    check_alerts(documents, store, notifier, NOW + timedelta(minutes=12))
    check_alerts(documents, store, notifier, NOW + timedelta(minutes=13))
    assert len(notifier.notices) == 2 and notifier.notices[0].notice_id != notifier.notices[1].notice_id


def test_a_notice_that_failed_is_sent_again_with_the_same_id(setup) -> None:
    documents, store, notifier = setup
    store.record("pipeline_date_late", at=NOW - timedelta(seconds=5), analysis_date="2025-01-15")
    notifier.fail = True
    failed = check_alerts(documents, store, notifier, NOW)
    notifier.fail = False
    sent = check_alerts(documents, store, notifier, NOW + timedelta(minutes=1))
    check_alerts(documents, store, notifier, NOW + timedelta(minutes=2))
    assert failed.failed == sent.announced and len(notifier.notices) == 1


def test_the_cli_exits_1_naming_the_firing_rule_and_announces_it_once(tmp_path, monkeypatch) -> None:
    from shared.cli.app import app
    from shared.config import Settings

    monkeypatch.setenv("SPORTSFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("SPORTSFLOW_NOTIFIER", "email")
    runner = CliRunner()
    quiet = runner.invoke(app, ["alerts", "check", "--json"])
    assert quiet.exit_code == 0, quiet.output
    metrics = process_metrics(Settings(home=tmp_path))
    metrics.record("synthetic_validation_failed", step="decide", reason="no consensus")
    metrics.flush()
    first = runner.invoke(app, ["alerts", "check", "--json"])
    again = runner.invoke(app, ["alerts", "check", "--json"])
    assert first.exit_code == again.exit_code == 1
    assert [a["rule"] for a in json.loads(first.output)["firing"]] == ["synthetic validation failed"]
    assert len(json.loads(first.output)["announced"]) == 1 and json.loads(again.output)["announced"] == []
    assert len(list((tmp_path / "outbox").iterdir())) == 1
