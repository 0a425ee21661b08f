"""The same settlement of one match against the Firestore emulator: 500-write transactions,
exactly once under concurrent replays, the leaderboard equal to the recomputation."""
from __future__ import annotations

import threading

import pytest

from shared.adapters.gcp.firestore import FirestoreDocumentStore
from shared.ports.documents import TransactionAborted
from shared.tournaments.leaderboard import Board, Leaderboards
from shared.tournaments.season import SeasonPlan, end_match, load_season, recompute_leaderboard
from shared.tournaments.settlement import BATCH_MEMBERS, Settlement

pytestmark = pytest.mark.emulator

PLAN = SeasonPlan(tournament_id="fs", matches=1, members=1100, leagues=1, seed=2)


def test_one_match_settles_exactly_once_on_firestore(emulators, unique_name):
    documents = FirestoreDocumentStore(emulators["GOOGLE_CLOUD_PROJECT"], namespace=unique_name)
    try:
        store = load_season(documents, PLAN)
        match = end_match(store, PLAN, 0)
        results, errors = [], []

        def settle(n):
            for _ in range(10):  # contention aborts a transaction: the job is redelivered, as Pub/Sub does
                try:
                    results.append(Settlement(documents).settle("fs", match.match_id, match.status_timestamp,
                                                                 execution_id=f"e{n}"))
                    return
                except TransactionAborted:
                    continue
                except Exception as error:  # noqa: BLE001 - reported below
                    errors.append(error)
                    return
            errors.append(RuntimeError("still aborted after 10 deliveries"))
        threads = [threading.Thread(target=settle, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        batches = -(-results[0].members // BATCH_MEMBERS)
        assert len(results) == 2 and batches == 3  # 3 transactions of <= 500 writes
        assert sum(r.batches_applied for r in results) == batches  # each applied once, by one of the two
        leaderboards = Leaderboards(documents)
        page = leaderboards.read(Board("fs"), page_size=500, page=1)
        expected = recompute_leaderboard(PLAN)
        assert not page.degraded and [tuple(e.__dict__.values()) for e in page.entries] == expected[:500]
        assert all(leaderboards.check(board).ok for board in leaderboards.boards_of("fs"))
        replay = Settlement(documents).settle("fs", match.match_id, match.status_timestamp, execution_id="e9")
        assert replay.decision == "duplicate" and replay.batches_applied == 0
    finally:
        documents.close()
