"""The topology on the embedded bus: functions wired, dead letters of both kinds recorded, nothing lost."""
import json
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.documents import SqliteDocumentStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import AnalyticsCompleted, encode
from shared.runtime.dead_letters import list_dead_letters
from shared.runtime.embedded import EmbeddedDeployment
from shared.runtime.errors import TransientError
from shared.topology import TOPOLOGY

TOPIC = "phase3-analytics-complete"
GOOD = AnalyticsCompleted(processor_name="player_game_summary", analysis_date=date(2025, 1, 15), success=True)


@pytest.fixture
def services(tmp_path):
    services = Services.with_adapters(Settings(home=tmp_path), bus=LocalBus(),
                                      documents=SqliteDocumentStore(tmp_path / "docs.sqlite"))
    yield services
    services.close()


def publish(services, data: bytes, attributes=None):
    services.bus.publish(TOPIC, data, attributes or {})
    services.bus.drain(max_seconds=24 * 3600)  # virtual time: covers every backoff


def test_every_topic_and_subscription_of_the_topology_exists(services):
    EmbeddedDeployment(services, handlers={}).deploy()
    assert set(services.bus.topics()) >= {t.name for t in TOPOLOGY.topics} | {t.dead_letter_topic
                                                                               for t in TOPOLOGY.topics}
    for subscription in TOPOLOGY.subscriptions:
        assert services.bus.subscription_spec(subscription.name) == subscription


def test_handled_message_leaves_no_dead_letter(services):
    seen = []
    deployment = EmbeddedDeployment(services, handlers={"phase3_to_phase4_orchestrator":
                                                        lambda m, c: seen.append(m)}).deploy()
    assert "phase3_to_phase4_orchestrator" in deployment.deployed
    encoded = encode(GOOD, run_id="r", correlation_id="c")
    publish(services, encoded.data, encoded.attributes)
    assert seen == [GOOD]
    assert list_dead_letters(services.documents) == []


def test_invalid_message_is_recorded_once_with_its_reason(services):
    EmbeddedDeployment(services, handlers={"phase3_to_phase4_orchestrator": lambda m, c: None}).deploy()
    before = datetime.now(timezone.utc)
    publish(services, b"{broken json")
    publish(services, b"{broken json")  # the same bad message again: recorded once
    [letter] = list_dead_letters(services.documents, TOPIC)
    assert letter["error_kind"] == "not_json" and letter["function"] == "phase3_to_phase4_orchestrator"
    assert list_dead_letters(services.documents, since=before) == [letter]
    assert list_dead_letters(services.documents, since=datetime.now(timezone.utc)) == []


def test_message_failing_transiently_forever_is_dead_lettered_after_max_attempts(services):
    attempts = []

    def always_down(message, ctx):
        attempts.append(ctx.delivery_attempt)
        raise TransientError("warehouse unavailable")

    EmbeddedDeployment(services, handlers={"phase3_to_phase4_orchestrator": always_down}).deploy()
    encoded = encode(GOOD, run_id="r", correlation_id="c")
    publish(services, encoded.data, encoded.attributes)
    max_attempts = TOPOLOGY.subscription_for_function("phase3_to_phase4_orchestrator").max_delivery_attempts
    assert attempts == list(range(1, max_attempts + 1))  # retried, but not forever
    [letter] = list_dead_letters(services.documents, TOPIC)
    assert letter["error_kind"] == "max_delivery_attempts_exceeded"
    assert letter["delivery_attempt"] == max_attempts


def test_unimplemented_functions_are_reported_not_faked(services):
    deployment = EmbeddedDeployment(services).deploy()
    pushed = {s.push_function for s in TOPOLOGY.subscriptions if s.push_function}  # topic functions, push routes
    assert set(deployment.deployed) | set(deployment.not_implemented) == pushed


def test_an_http_functions_push_routes_are_delivered_like_pubsub_push(services):
    """The Phase 5 coordinator is HTTP; its /trigger and /ready push routes are routed on the bus."""
    deployment = EmbeddedDeployment(services).deploy()
    coordinator_routes = {s.name for s in TOPOLOGY.subscriptions if s.push_function == "phase5_coordinator"}
    assert coordinator_routes and coordinator_routes <= set(deployment.routes)
    assert "phase5_coordinator" in deployment.deployed


def test_a_topic_handler_is_imported_on_its_first_message_only(tmp_path, monkeypatch):
    from shared.runtime.handlers import DeferredHandler
    from shared.topology.model import FunctionSpec
    (tmp_path / "deferred_made_up_handler.py").write_text(
        "CALLS = []\n\ndef handle(message, ctx):\n    CALLS.append((message, ctx))\n    return 'done'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = FunctionSpec(name="made_up", phase=2, description="d", trigger="topic", trigger_topic="t",
                        handler="deferred_made_up_handler:handle")
    handler = DeferredHandler(spec)
    assert "deferred_made_up_handler" not in sys.modules
    assert handler("m", "c") == "done"
    assert sys.modules["deferred_made_up_handler"].CALLS == [("m", "c")]
    monkeypatch.delitem(sys.modules, "deferred_made_up_handler")


def test_a_missing_handler_module_is_not_implemented_at_deploy_time():
    from shared.runtime.handlers import DeferredHandler, HandlerNotImplemented
    from shared.topology.model import FunctionSpec
    for handler in ("shared.no_such_package.worker:handle", "shared.pipeline.no_such_module:handle"):
        spec = FunctionSpec(name="made_up", phase=2, description="d", trigger="topic", trigger_topic="t",
                            handler=handler)
        with pytest.raises(HandlerNotImplemented, match="does not exist yet"):
            DeferredHandler(spec)


def test_deploying_imports_no_topic_handler(tmp_path):
    """`sportsflow run` deploys every function but pays only for the handlers its messages reach."""
    script = (
        "import json, sys\nfrom pathlib import Path\n"
        "from shared.adapters.local.bus import LocalBus\nfrom shared.adapters.local.documents import "
        "SqliteDocumentStore\nfrom shared.bootstrap import Services\nfrom shared.config import Settings\n"
        "from shared.runtime.embedded import EmbeddedDeployment\nfrom shared.topology import TOPOLOGY\n"
        f"home = Path({str(tmp_path)!r})\n"
        "services = Services.with_adapters(Settings(home=home), bus=LocalBus(), "
        "documents=SqliteDocumentStore(home / 'docs.sqlite'))\n"
        "deployment = EmbeddedDeployment(services).deploy()\n"
        "topic_handlers = {f.handler.partition(':')[0] for f in TOPOLOGY.functions if f.trigger == 'topic'}\n"
        "print(json.dumps(sorted(m for m in topic_handlers if m in sys.modules)))\n"
        "print(json.dumps(sorted(f.name for f in TOPOLOGY.functions if f.trigger == 'topic' and f.name not in "
        "deployment.deployed)))\nservices.close()\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    imported, undeployed = map(json.loads, out.stdout.splitlines())
    assert imported == []
    assert undeployed == []  # every topic function is still deployed
