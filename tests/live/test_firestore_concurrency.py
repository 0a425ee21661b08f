"""Against the Firestore emulator: concurrent provider writes to one match; the newest always wins."""
from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from shared.adapters.gcp.firestore import FirestoreDocumentStore
from shared.live.diary import match_from_diary
from shared.live.engine import tick
from shared.live.model import LiveProviderUpdate
from shared.live.store import MatchStore

pytestmark = pytest.mark.emulator
WRITERS = 32


@pytest.mark.parametrize("round_", range(3))
def test_32_concurrent_provider_writes_never_let_an_older_update_win(emulators, unique_name, round_):
    documents = FirestoreDocumentStore(emulators["GOOGLE_CLOUD_PROJECT"], namespace=f"{unique_name}{round_}")
    store = MatchStore(documents)
    store.create(match_from_diary({"match_id": "m1", "match_time": 1_767_000_000}, store.now()))
    store.apply(LiveProviderUpdate(match_id="m1", status_id=2, provider_update_time=1000))
    times = [1000 + n for n in range(1, WRITERS + 1)]
    random.Random(round_).shuffle(times)
    start = Barrier(WRITERS)
    versions_seen: list[int] = []

    def write(ptu: int) -> str:
        start.wait()  # all 32 race at once
        outcome = store.apply(LiveProviderUpdate(match_id="m1", status_id=2 if ptu % 2 else 4,
                                                 provider_update_time=ptu, home_score=ptu - 1000))
        versions_seen.append(store.get("m1")["provider_update_time"])
        return outcome.verdict

    with ThreadPoolExecutor(WRITERS) as pool:
        verdicts = Counter(pool.map(write, times))
        tick(store)  # a minute tick racing the writers never rolls anything back
    final = store.get("m1")
    assert final["provider_update_time"] == 1000 + WRITERS
    assert final["home_score"] == WRITERS  # the fields of the newest write, not an older one's
    assert verdicts["accepted"] >= 1 and sum(verdicts.values()) == WRITERS
    assert set(verdicts) <= {"accepted", "stale"}
    documents.close()
