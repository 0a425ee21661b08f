"""The concurrent last-completion race against the Firestore emulator: one claim, one trigger per date."""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from shared.adapters.gcp.firestore import FirestoreDocumentStore
from shared.adapters.local.bus import LocalBus
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import AnalyticsCompleted, decode
from shared.contracts.envelope import Envelope
from shared.orchestration.fan_in import FanInLedger
from shared.orchestration.handlers import handle_analytics_completed
from shared.runtime.context import FunctionContext
from shared.runtime.errors import TransientError
from shared.topology import TOPOLOGY

pytestmark = pytest.mark.emulator

FUNCTION = TOPOLOGY.function("phase3_to_phase4_orchestrator")
PHASE3 = sorted(TOPOLOGY.phase3_required)
DAYS = [date(2025, 1, 1) + timedelta(days=i) for i in range(20)]


class RecordingBus(LocalBus):
    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.published: list[bytes] = []

    def publish(self, topic, data, attributes=None, ordering_key=""):
        with self.lock:
            self.published.append(data)
        return f"m{len(self.published)}"


def test_concurrent_last_completions_trigger_phase4_once_per_date(emulators, unique_name, tmp_path):
    documents = FirestoreDocumentStore(emulators["GOOGLE_CLOUD_PROJECT"], namespace=unique_name)
    bus = RecordingBus()
    services = Services.with_adapters(Settings(home=tmp_path), bus=bus, documents=documents)
    # 5 parts per date, each delivered 3 times (same message id: Pub/Sub duplicates), shuffled.
    deliveries = [(day, name, f"{day}:{name}") for day in DAYS for name in PHASE3] * 3
    random.Random(7).shuffle(deliveries)

    def deliver(delivery):
        day, name, message_id = delivery
        envelope = Envelope(message_type="AnalyticsCompleted", schema_version=1, message_id=message_id,
                            run_id="r", correlation_id="c", payload={})
        message = AnalyticsCompleted(processor_name=name, analysis_date=day, success=True, run_fence=1)
        for attempt in range(1, 20):  # a TransientError is Pub/Sub's nack: the message comes again
            ctx = FunctionContext(function=FUNCTION, envelope=envelope, delivery_attempt=attempt, services=services)
            try:
                return handle_analytics_completed(message, ctx)
            except TransientError:  # a duplicate of the claimant met its live publish lease
                time.sleep(0.05)
        raise AssertionError(f"{message_id} never went through")

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(deliver, deliveries))

    triggers = Counter(decode(data).message.analysis_date for data in bus.published)
    assert triggers == Counter({day: 1 for day in DAYS})
    ledger = FanInLedger(documents)
    for day in DAYS:
        assert set(ledger.parts(day)) == set(PHASE3)
        [claim] = ledger.claims(day)
        assert claim["target"] == "phase4" and claim["published"] is True and claim["publish_count"] == 1
