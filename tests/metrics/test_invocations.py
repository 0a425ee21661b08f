"""Every invocation of a function records one point (latency, outcome, function) through the one
metrics interface; on gcp it is the log line infra/monitoring.tf counts; locally the store buffers."""
from __future__ import annotations

import logging
import re
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import flask
import pytest

from shared.adapters.local.bus import LocalBus
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import AnalyticsCompleted, encode
from shared.metrics.recorder import INVOCATION, LocalMetricsStore, LogMetrics, process_metrics
from shared.runtime import Delivery, PermanentError, PubSubFunction, auth
from shared.runtime.entrypoints import HttpFunction
from shared.topology import TOPOLOGY

MONITORING_TF = Path(__file__).resolve().parents[2] / "infra" / "monitoring.tf"
FUNCTION = TOPOLOGY.function("phase3_to_phase4_orchestrator")


def _invocations(settings: Settings) -> list[dict]:
    now = datetime.now(timezone.utc)
    return [p.labels | {"latency_ms": p.value}
            for p in process_metrics(settings).points(INVOCATION, now - timedelta(minutes=5),
                                                      now + timedelta(seconds=1))]


@pytest.fixture
def services(tmp_path):
    bus = LocalBus()
    for topic in (FUNCTION.trigger_topic, TOPOLOGY.topic(FUNCTION.trigger_topic).dead_letter_topic or "dlq"):
        bus.create_topic(topic)
    services = Services.with_adapters(Settings(home=tmp_path), bus=bus)
    yield services
    services.close()


def _delivery(data: bytes | None = None) -> Delivery:
    if data is None:
        completed = AnalyticsCompleted(processor_name="player_game_summary", analysis_date=date(2025, 1, 15),
                                       success=True)
        data = encode(completed, run_id="r1", correlation_id="c1").data
    return Delivery(data=data, attributes={})


def test_a_pubsub_invocation_records_its_outcome_and_latency(services) -> None:
    def handler(message, ctx):
        if message.processor_name == "player_game_summary" and ctx.delivery_attempt == 2:
            raise PermanentError("can never succeed")
        if ctx.delivery_attempt == 3:
            raise RuntimeError("transient")
        time.sleep(0.02)

    function = PubSubFunction(FUNCTION, TOPOLOGY, handler, lambda: services)
    function.handle(_delivery())
    function.handle(Delivery(data=_delivery().data, attributes={}, delivery_attempt=2))
    with pytest.raises(RuntimeError):
        function.handle(Delivery(data=_delivery().data, attributes={}, delivery_attempt=3))
    function.handle(_delivery(b"not json"))
    points = _invocations(services.settings)
    assert [(p["function"], p["outcome"], p["trigger"]) for p in points] == [
        (FUNCTION.name, "ok", "pubsub"), (FUNCTION.name, "dead_lettered", "pubsub"),
        (FUNCTION.name, "retried", "pubsub"), (FUNCTION.name, "dead_lettered", "pubsub")]
    assert points[0]["latency_ms"] >= 20


def test_an_http_invocation_records_ok_refused_and_retried(services) -> None:
    def handler(request):
        return flask.Response("{}", status=503 if request.args.get("fail") else 200)

    function = HttpFunction(TOPOLOGY.function("reconciler"), handler, verifier=auth.DevTokenVerifier("good"),
                            services_factory=lambda: services)
    app = flask.Flask("t")
    for headers, query in (({"Authorization": "Bearer good"}, ""), ({}, ""),
                           ({"Authorization": "Bearer good"}, "?fail=1")):
        with app.test_request_context(f"/{query}", method="POST", headers=headers, json={}):
            function(flask.request)
    assert [(p["function"], p["outcome"], p["trigger"]) for p in _invocations(services.settings)] == [
        ("reconciler", "ok", "http"), ("reconciler", "refused", "http"), ("reconciler", "retried", "http")]


def test_on_gcp_an_invocation_is_the_line_the_log_based_metrics_count(caplog) -> None:
    terraform = MONITORING_TF.read_text()
    counter = re.search(r'function_invocations = \{.*?filter\s+= "jsonPayload.message=\\"(.+?)\\"".*?'
                        r'labels\s+= \[(.*?)\]', terraform, re.S)
    latency = re.search(r'"function_latency" \{.*?filter\s+= "jsonPayload.message=\\"(.+?)\\"".*?'
                        r'value_extractor = "EXTRACT\(jsonPayload\.(\w+)\)".*?for label in \[(.*?)\]', terraform, re.S)
    assert counter and latency, "infra/monitoring.tf lost the function invocation metrics"
    with caplog.at_level(logging.INFO, logger="sportsflow.metrics"):
        LogMetrics().record(INVOCATION, 12.5, function="phase3_analytics", outcome="ok", trigger="pubsub")
    line = caplog.records[-1]
    assert line.getMessage() == counter.group(1) == latency.group(1)
    assert line.fields[latency.group(2)] == 12.5
    for labels in (counter.group(2), latency.group(3)):
        for label in re.findall(r'"(\w+)"', labels):
            assert label in line.fields, label


def test_the_local_store_writes_in_batches_not_a_connection_per_point(tmp_path, monkeypatch) -> None:
    store = LocalMetricsStore(tmp_path / "m.sqlite", flush_every_s=3600, max_buffered=50)
    opened = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: opened.append(1) or real_connect(*a, **k))
    for i in range(120):
        store.record(INVOCATION, float(i), function="f", outcome="ok")
    assert len(opened) == 2  # two full buffers of 50; 20 points still buffered
    assert store.flush() == 20 and len(opened) == 3
    store.close()


def test_the_timer_flushes_what_a_quiet_process_buffered(tmp_path) -> None:
    store = LocalMetricsStore(tmp_path / "m.sqlite", flush_every_s=0.05)
    store.record(INVOCATION, 1.0, function="f", outcome="ok")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sqlite3.connect(tmp_path / "m.sqlite") as conn:
            if conn.execute("SELECT count(*) FROM points").fetchone()[0] == 1:
                break
        time.sleep(0.05)
    else:
        pytest.fail("the timer never flushed the buffered point")
    store.close()


def test_a_normal_exit_writes_every_buffered_point(tmp_path) -> None:
    script = ("from shared.metrics.recorder import LocalMetricsStore\n"
              f"s = LocalMetricsStore(__import__('pathlib').Path({str(tmp_path / 'm.sqlite')!r}), flush_every_s=3600)\n"
              "for i in range(7): s.record('function_latency_ms', i, function='f', outcome='ok')\n")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).resolve().parents[2])
    with sqlite3.connect(tmp_path / "m.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM points").fetchone()[0] == 7


def test_points_filter_labels_in_the_store_and_sample_evenly_when_asked(tmp_path) -> None:
    """The console's charts read a day of points (a backfill leaves ~100k): the labels are filtered in
    SQL, stored and buffered points alike, and `at_most` reads an even sample, never the first N."""
    from shared.metrics.recorder import ANY_VALUE

    store = LocalMetricsStore(tmp_path / "metrics.sqlite", max_buffered=10_000)
    start = datetime.now(timezone.utc) - timedelta(minutes=30)
    for n in range(1000):
        store.record(INVOCATION, float(n), at=start + timedelta(seconds=n), function="f", trigger="pubsub")
        if n % 100 == 0:
            store.record(INVOCATION, 5.0, at=start + timedelta(seconds=n), page="/pipeline")
    store.flush()
    store.record(INVOCATION, 7.0, page="/health")  # still buffered
    window = (start - timedelta(seconds=1), datetime.now(timezone.utc) + timedelta(seconds=1))
    pages = store.points(INVOCATION, *window, where={"page": ANY_VALUE})
    assert [p.labels["page"] for p in pages] == ["/pipeline"] * 10 + ["/health"]
    pubsub = store.points(INVOCATION, *window, where={"trigger": "pubsub"})
    assert [p.value for p in pubsub] == [float(n) for n in range(1000)]
    sample = store.points(INVOCATION, *window, where={"trigger": "pubsub"}, at_most=100)
    assert 80 <= len(sample) <= 100 and max(p.value for p in sample) > 900  # spread over the window
    with pytest.raises(ValueError):
        store.points(INVOCATION, *window, where={"x') OR 1=1 --": 1})
    store.close()
