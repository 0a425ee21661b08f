"""Observation 1 (raw payloads in the locked evidence bucket) and 5 (unbounded keys, traversal
treated as transient) of issue #11: Phase 1 writes to the raw store only, the raw store is
content-addressed and create-only, and a payload reference that cannot be read is dead-lettered
at once instead of retried."""
from __future__ import annotations

import ast
import hashlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.evidence import FileEvidenceStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import ScraperCompleted, encode
from shared.pipeline.phase1 import run_scraper
from shared.providers.synthetic import SyntheticSource
from shared.runtime import Delivery, Outcome, PubSubFunction
from shared.runtime.handlers import resolve_handler
from shared.topology import TOPOLOGY, SubscriptionSpec

REPO = Path(__file__).resolve().parents[2]
DAY = date(2025, 1, 15)
SOURCE = SyntheticSource(seed=2)
# Who may write the evidence store, and what each writes: evidence only (SPEC §2).
EVIDENCE_WRITERS = {
    "shared/validation/monitor.py": "the result sources' scoreboards a validation decided on",
    "shared/validation/service.py": "validation decisions",
    "shared/validation/review.py": "human review actions",
    "shared/predictions/model_registry.py": "model artifacts",
    "shared/ingestion/report.py": "ingestion execution reports",
    "shared/evidence_log/log.py": "signed checkpoints of the evidence log",
}


class _Client:
    def get_json(self, path, params):
        scraper = {v: k for k, v in __import__("shared.pipeline.phase1", fromlist=["x"]).SCRAPER_PATHS.items()}[path]
        return SOURCE.payload(scraper, date.fromisoformat(params["date"])).model_dump(mode="json")


@pytest.fixture
def services(tmp_path):
    bus = LocalBus()
    for topic in ("phase1-scrapers-complete", "phase1-scrapers-complete-dead-letter", "phase2-raw-complete"):
        bus.create_topic(topic)
    bus.create_subscription(SubscriptionSpec(name="dlq", topic="phase1-scrapers-complete-dead-letter",
                                             dead_letter_topic=None))
    services = Services.with_adapters(Settings(home=tmp_path), bus=bus)
    yield services
    services.close()


def test_phase1_stores_raw_payloads_in_the_raw_store_never_in_the_evidence_store(services):
    published = []
    completed = run_scraper("schedule", DAY, services=services, client=_Client(),
                            publish=lambda topic, message: published.append(message))
    assert completed.success
    assert services.evidence.list("") == []  # main stored it here, under the 7-year lock
    assert [o.key for o in services.raw_payloads.list("raw/")] == [completed.payload_uri]


def test_only_the_known_evidence_writers_write_the_evidence_store():
    writers = {}
    for path in sorted((REPO / "shared").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith("shared/adapters/") or relative.startswith("shared/ports/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "put" and "evidence" in ast.unparse(node.value):
                writers[relative] = True
    assert set(writers) == set(EVIDENCE_WRITERS), "a new evidence writer: is what it writes evidence? " \
                                                  "raw provider payloads go to services.raw_payloads"
    phase1 = (REPO / "shared/pipeline/phase1.py").read_text()
    assert ".evidence" not in phase1 and "raw_payloads" in phase1


def test_the_raw_store_is_content_addressed_and_create_only(tmp_path):
    from shared.adapters.local.raw_payloads import FileRawPayloadStore

    store = FileRawPayloadStore(tmp_path)
    data = b'{"a":1}'
    key = f"raw/schedule/2025-01-15/{hashlib.sha256(data).hexdigest()}.json"
    first = store.put(key, data)
    assert store.put(key, data) == first and store.get(key) == data
    with pytest.raises(ValueError, match="SHA-256"):
        store.put(f"raw/schedule/2025-01-15/{'0' * 64}.json", data)
    with pytest.raises(ValueError, match="content-addressed"):
        store.put("raw/schedule/2025-01-15/latest.json", data)
    assert not hasattr(store, "delete")
    assert (tmp_path / key).stat().st_mode & 0o777 == 0o444  # read-only (root ignores it; the bucket does not)


def _phase2(services) -> PubSubFunction:
    spec = TOPOLOGY.function("phase2_raw_processors")
    return PubSubFunction(spec, TOPOLOGY, resolve_handler(spec), lambda: services)


@pytest.mark.parametrize("payload_uri", [
    "raw/../../../etc/passwd",
    "gs://sportsflow-raw/raw/schedule/../../x.json",
    "raw/schedule/" + "a" * 300 + "/" + "0" * 64 + ".json",
])
def test_a_payload_reference_that_cannot_name_a_payload_is_dead_lettered_not_retried(services, payload_uri):
    message = ScraperCompleted(scraper="schedule", game_date=DAY, success=True, payload_uri=payload_uri,
                               payload_sha256="0" * 64, records=1)
    encoded = encode(message, run_id="r", correlation_id="c")
    outcome = _phase2(services).handle(Delivery(data=encoded.data, attributes=encoded.attributes, message_id="m"))
    assert outcome is Outcome.DEAD_LETTERED
    letters = services.bus.pull("dlq", max_messages=10, timeout=0)
    assert len(letters) == 1


def test_a_key_segment_over_255_characters_is_refused_by_every_store_with_a_reason(tmp_path):
    long_key = "records/" + "a" * 256 + ".json"
    with pytest.raises(ValueError, match="at most 255"):
        FileEvidenceStore(tmp_path / "ev").put(long_key, b"{}", retain_until=datetime.now(timezone.utc)
                                               + timedelta(days=1))
    from shared.adapters.local.raw_payloads import FileRawPayloadStore
    with pytest.raises(ValueError, match="at most 255"):
        FileRawPayloadStore(tmp_path / "raw").put("raw/" + "a" * 256 + "/" + "0" * 64 + ".json", b"{}")
