"""Every alert rule of shared/metrics/rules.py has its alert policy in infra/monitoring.tf (on gcp Cloud
Monitoring evaluates the rules); `sportsflow --backend gcp alerts check` says so, naming each policy,
and exits 2; the emulator backend evaluates the rules on the points it keeps in its home."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.config import Settings
from shared.metrics.recorder import LocalMetricsStore, LoggedAndStored, metrics_for
from shared.metrics.rules import RULES

MONITORING_TF = Path(__file__).resolve().parents[2] / "infra" / "monitoring.tf"


def map_keys(terraform: str, local_name: str) -> set[str]:
    """The keys of a `name = { key = {...} ... }` map in a locals block (two-space HCL indentation)."""
    block = re.search(rf"^  {local_name} = \{{\n(.*?)^  \}}", terraform, re.S | re.M)
    assert block, f"no local {local_name} in monitoring.tf"
    return set(re.findall(r"^    (\w+) = \{", block.group(1), re.M))


def declared_policies() -> set[str]:
    terraform = MONITORING_TF.read_text()
    policies = {f"google_monitoring_alert_policy.{name}"
                for name in re.findall(r'^resource "google_monitoring_alert_policy" "(\w+)"', terraform, re.M)}
    for resource, local_name in (("log_event", "any_occurrence_alerts"), ("log_ratio", "ratio_alerts")):
        assert f"google_monitoring_alert_policy.{resource}" in policies
        policies |= {f'google_monitoring_alert_policy.{resource}["{key}"]' for key in map_keys(terraform, local_name)}
    return policies


def test_every_rule_names_an_alert_policy_that_monitoring_tf_declares() -> None:
    declared = declared_policies()
    assert len({rule.policy for rule in RULES}) == len(RULES)  # one policy per rule
    for rule in RULES:
        assert rule.policy in declared, f"rule {rule.name!r}: no alert policy {rule.policy} in infra/monitoring.tf"


def test_the_coverage_gauge_policy_reads_the_prediction_coverage_metric_lines() -> None:
    terraform = MONITORING_TF.read_text()
    assert 'jsonPayload.metric=\\"${each.key}\\"' in terraform and "prediction_coverage = {" in terraform
    assert 'google_logging_metric.gauge["prediction_coverage"]' in terraform


def test_on_gcp_alerts_check_exits_2_naming_the_policy_of_each_rule(tmp_path) -> None:
    from shared.cli.app import app

    result = CliRunner().invoke(app, ["--backend", "gcp", "--home", str(tmp_path), "alerts", "check"])
    assert result.exit_code == 2, result.output
    assert "evaluated by Cloud Monitoring" in result.output and "infra/monitoring.tf" in result.output
    for rule in RULES:
        assert f"{rule.name}: {rule.policy}" in result.output


def test_the_scheduled_alerts_check_on_gcp_answers_200_with_the_policies(monkeypatch) -> None:
    import flask

    from shared.bootstrap import Services
    from shared.metrics import alerting
    from shared.runtime import entrypoints

    monkeypatch.setattr(entrypoints, "process_services", lambda: Services(Settings(backend="gcp")))
    with flask.Flask(__name__).test_request_context("/"):
        response = alerting.handle_alerts_check_request(flask.request)
    assert response.status_code == 200  # a 5xx would make Cloud Scheduler retry it forever
    assert json.loads(response.get_data())["policies"] == {rule.name: rule.policy for rule in RULES}


def test_the_emulator_backend_keeps_its_points_in_the_home_and_logs_them(tmp_path, caplog) -> None:
    metrics = metrics_for(Settings(backend="emulator", home=tmp_path))
    assert isinstance(metrics, LoggedAndStored)
    now = datetime.now(timezone.utc)
    with caplog.at_level("INFO", logger="sportsflow.metrics"):
        metrics.record("pipeline_date_late", at=now, analysis_date="2025-01-15")
    metrics.flush()
    assert [r.getMessage() for r in caplog.records] == ["pipeline date not finished by deadline"]
    since = datetime(2020, 1, 1, tzinfo=timezone.utc)
    stored = LocalMetricsStore(tmp_path / "metrics.sqlite").points("pipeline_date_late", since, now)
    assert [p.labels for p in stored] == [{"analysis_date": "2025-01-15"}]


@pytest.mark.emulator
def test_alerts_check_on_the_emulators_fires_on_the_points_of_the_home(emulators, tmp_path, monkeypatch) -> None:
    from shared.cli.app import app
    from shared.metrics.recorder import process_metrics

    emulator_home = tmp_path / "home"  # the running emulators, with a metrics store of its own
    emulator_home.mkdir()
    (emulator_home / "emulators.env").write_text("".join(f"{k}={v}\n" for k, v in emulators.items()))
    monkeypatch.delenv("SPORTSFLOW_EMULATOR_ENV", raising=False)
    settings = Settings(backend="emulator", home=emulator_home)
    metrics = process_metrics(settings)
    metrics.record("synthetic_validation_failed", step="decide", reason="no consensus")
    metrics.flush()
    result = CliRunner().invoke(app, ["--backend", "emulator", "--home", str(emulator_home), "alerts", "check",
                                      "--json"])
    assert result.exit_code == 1, result.output
    assert "synthetic validation failed" in [a["rule"] for a in json.loads(result.output)["firing"]]
