"""A real functions-framework process fed by a Pub/Sub emulator push subscription.

Good input is handled, invalid input is dead-lettered with its reason (and acked, so never
redelivered), and a transient failure is redelivered by Pub/Sub until it succeeds.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from google.cloud import pubsub_v1

from shared.adapters.gcp.pubsub import PubSubBus
from shared.contracts import AnalyticsCompleted, decode, encode
from shared.contracts.codec import MAX_MESSAGE_BYTES, PUBSUB_MAX_MESSAGE_BYTES
from shared.topology import TOPOLOGY, SubscriptionSpec

pytestmark = pytest.mark.emulator

APP = Path(__file__).parent / "ff_app" / "main.py"
SOURCE = TOPOLOGY.function("phase3_to_phase4_orchestrator").trigger_topic
DLQ = f"{SOURCE}-dead-letter"


@dataclass
class PushedFunction:
    url: str
    project: str
    state: Path
    log: Path
    bus: PubSubBus
    process: subprocess.Popen

    def publish(self, data: bytes, attributes=None) -> None:
        self.bus.publish(SOURCE, data, attributes or {})

    def post(self, body, timeout: float = 30) -> httpx.Response:
        """POST a push body straight to the function, as Pub/Sub push would (JSON text or a value)."""
        content = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return httpx.post(f"{self.url}/projects/{self.project}/topics/{SOURCE}", content=content,
                          headers={"Content-Type": "application/json"}, timeout=timeout)

    def dead_letters(self, expected: int, timeout: float = 60) -> list:
        letters, deadline = [], time.monotonic() + timeout
        while len(letters) < expected and time.monotonic() < deadline:
            received = self.bus.pull("dlq-inspect", max_messages=10, timeout=2)
            self.bus.ack("dlq-inspect", [m.ack_id for m in received])
            letters += [decode(m.data, max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message for m in received]
        return letters


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pushed_function(emulators, tmp_path, unique_name):
    project, port = unique_name, free_port()
    log = tmp_path / "functions-framework.log"
    env = {**os.environ, "GOOGLE_CLOUD_PROJECT": project, "SPORTSFLOW_BACKEND": "gcp",
           "FF_TEST_STATE_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "functions_framework", "--source", str(APP), "--target", "handle",
             "--signature-type", "cloudevent", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), timeout=30, what="functions-framework to listen")
        bus = PubSubBus(project)
        for topic in (SOURCE, DLQ):
            bus.create_topic(topic)
        bus.create_subscription(SubscriptionSpec(name="dlq-inspect", topic=DLQ, dead_letter_topic=None))
        _create_push_subscription(project, f"{url}/projects/{project}/topics/{SOURCE}")
        yield PushedFunction(url=url, project=project, state=tmp_path, log=log, bus=bus, process=process)
        bus.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
        return True
    except httpx.TransportError:
        return False


def _create_push_subscription(project: str, endpoint: str) -> None:
    with pubsub_v1.SubscriberClient() as subscriber:
        subscriber.create_subscription(request={
            "name": subscriber.subscription_path(project, "push-to-function"),
            "topic": f"projects/{project}/topics/{SOURCE}",
            "push_config": {"push_endpoint": endpoint},
            "ack_deadline_seconds": 10,
            "retry_policy": {"minimum_backoff": {"seconds": 1}, "maximum_backoff": {"seconds": 2}},
        })


def completion(processor: str) -> tuple[bytes, dict, str]:
    message = AnalyticsCompleted(processor_name=processor, analysis_date=date(2025, 1, 15), success=True,
                                 records_processed=7)
    encoded = encode(message, run_id="run-e2e", correlation_id="corr-e2e")
    return encoded.data, encoded.attributes, encoded.attributes["message_id"]


def test_good_message_is_handled_once(pushed_function):
    data, attributes, message_id = completion("player_game_summary")
    pushed_function.publish(data, attributes)
    handled = pushed_function.state / f"{message_id}.handled"
    wait_for(handled.exists, what="the handler to run")
    assert json.loads(handled.read_text())["records_processed"] == 7
    time.sleep(3)  # past the ack deadline: an acked push is not redelivered
    assert (pushed_function.state / f"{message_id}.attempts").read_text() == "1"
    log_lines = [json.loads(line) for line in pushed_function.log.read_text().splitlines()
                 if line.startswith("{")]
    started = [line for line in log_lines if line["message"] == "started"]
    assert started and started[0]["function"] == "phase3_to_phase4_orchestrator"
    assert started[0]["correlation_id"] == "corr-e2e"


def test_invalid_messages_are_dead_lettered_with_reasons(pushed_function):
    good = json.loads(completion("player_game_summary")[0])
    bad = {
        "not_json": b"definitely { not json",
        "payload_does_not_match_model": json.dumps({**good, "payload": {**good["payload"], "success": "maybe"}}).encode(),
        "unknown_schema_version": json.dumps({**good, "schema_version": 42}).encode(),
        "oversize": b"x" * (MAX_MESSAGE_BYTES + 10),
    }
    for data in bad.values():
        pushed_function.publish(data)
    letters = pushed_function.dead_letters(expected=len(bad))
    assert sorted(letter.error_kind for letter in letters) == sorted(bad)
    for letter in letters:
        assert letter.reason and letter.function == "phase3_to_phase4_orchestrator"
        assert base64.b64decode(letter.original_data_b64) == bad[letter.error_kind]
    assert pushed_function.dead_letters(expected=1, timeout=4) == []  # acked: no second copy


def test_transient_failure_is_redelivered_until_handled(pushed_function):
    data, attributes, message_id = completion("fails_once")
    pushed_function.publish(data, attributes)
    wait_for((pushed_function.state / f"{message_id}.handled").exists, what="the redelivery to succeed")
    assert (pushed_function.state / f"{message_id}.attempts").read_text() == "2"
    assert pushed_function.dead_letters(expected=1, timeout=3) == []


@pytest.mark.parametrize("body, kind", [
    ({"message": {"data": "%%% not base64 %%%", "messageId": "1"}, "subscription": "s"}, "malformed_base64"),
    ({"message": {"data": base64.b64encode(b'{"x": 1}').decode(), "messageId": "2"}, "subscription": "s"},
     "bad_envelope"),
])
def test_push_bodies_posted_directly_are_dead_lettered_not_crashed(pushed_function, body, kind):
    response = pushed_function.post(body)
    assert response.status_code == 200, response.text
    [letter] = pushed_function.dead_letters(expected=1)
    assert letter.error_kind == kind


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


GOOD_DATA, GOOD_ATTRIBUTES, _ = completion("player_game_summary")


@pytest.mark.parametrize("message, kind", [
    ({"data": _b64(b"[" * 1000 + b"]" * 1000)}, "too_deeply_nested"),
    ({"data": _b64(GOOD_DATA), "attributes": {"correlation_id": ["c"], "n": 1, "none": None}}, "bad_envelope"),
    ({"data": _b64(GOOD_DATA), "attributes": ["not", "a", "map"]}, "bad_envelope"),
    ({"data": "\ud800 lone surrogate", "attributes": {"k\udfff": "v\ud800"}}, "malformed_base64"),
    ({"data": _b64(b"x" * (MAX_MESSAGE_BYTES + 1))}, "oversize"),
    ({"data": _b64(b"1" * 5000)}, "not_json"),
], ids=["deep-json", "attribute-values", "attributes-list", "surrogates", "oversize", "5000-digit-int"])
def test_observed_bad_push_bodies_are_dead_lettered_with_200(pushed_function, message, kind):
    response = pushed_function.post({"message": {"messageId": "\ud800-id", **message}, "subscription": "s"})
    assert response.status_code == 200, response.text[:500]
    [letter] = pushed_function.dead_letters(expected=1)
    assert letter.error_kind == kind and letter.reason


@pytest.mark.parametrize("attempt", ["abc", -3, [1], 1e400, 10 ** 400])
def test_junk_delivery_attempt_is_handled_with_200(pushed_function, attempt):
    data, attributes, message_id = completion("player_game_summary")
    body = {"message": {"data": _b64(data), "attributes": attributes, "messageId": "7"}, "subscription": "s",
            "deliveryAttempt": attempt}
    response = pushed_function.post(json.dumps(body).replace("Infinity", "1e400"))
    assert response.status_code == 200, response.text[:500]
    assert (pushed_function.state / f"{message_id}.handled").exists()
