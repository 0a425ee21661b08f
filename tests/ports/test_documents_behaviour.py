"""The DocumentStore contract, run against every adapter: SQLite always, Firestore on the emulator.

Each Firestore test takes its own namespace, so tests never see each other's documents.
The emulator stalls ~2 s per contended transaction, so its concurrency tests stay small.
"""
from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.ports.documents import (
    AlreadyExists,
    DocumentStore,
    DocumentStoreError,
    NotFound,
    PreconditionFailed,
    Transaction,
    TransactionAborted,
)

UTC = timezone.utc


@dataclass
class StoreUnderTest:
    store: DocumentStore
    racers: int  # threads racing for one document
    increment_threads: int
    increments_per_thread: int


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.emulator)])
def subject(request, tmp_path, unique_name) -> StoreUnderTest:
    if request.param == "sqlite":
        store = SqliteDocumentStore(tmp_path / "documents.sqlite3")
        yield StoreUnderTest(store, racers=16, increment_threads=8, increments_per_thread=25)
    else:
        from shared.adapters.gcp.firestore import FirestoreDocumentStore

        env = request.getfixturevalue("emulators")
        store = FirestoreDocumentStore(env.get("GOOGLE_CLOUD_PROJECT", "sportsflow-local"), namespace=unique_name)
        yield StoreUnderTest(store, racers=8, increment_threads=3, increments_per_thread=2)
    store.close()


@pytest.fixture
def store(subject) -> DocumentStore:
    return subject.store


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    """Start `count` threads at one barrier; return their results (re-raising any failure)."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - handed back to the test thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# --- get / set / create ---------------------------------------------------------------

def test_get_of_a_missing_document_is_none(store):
    assert store.get("games/missing") is None


def test_set_round_trips_every_value_type(store):
    kickoff = datetime(2025, 1, 15, 19, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    data = {"name": "Lakers", "score": 101, "ratio": 0.75, "final": True, "note": None,
            "players": ["a", 2, 3.5], "meta": {"venue": "Arena", "at": [kickoff]}, "kickoff": kickoff}

    written = store.set("games/g1", data)
    read = store.get("games/g1")

    assert read.data == data == written.data
    assert read.path == "games/g1" and read.id == "g1"
    assert read.data["kickoff"].tzinfo is not None
    assert read.data["kickoff"].utcoffset() == timedelta(0)
    assert read.data["meta"]["at"][0] == kickoff
    assert read.version == written.version


def test_naive_datetimes_are_taken_as_utc(store):
    store.set("games/g1", {"at": datetime(2025, 1, 15, 12, 0)})

    assert store.get("games/g1").data["at"] == datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def test_set_overwrites_the_whole_document_and_keeps_its_create_time(store):
    first = store.set("games/g1", {"a": 1, "b": 2})
    second = store.set("games/g1", {"a": 3})

    assert second.data == {"a": 3}
    assert second.version != first.version
    assert second.create_time == first.create_time
    assert second.update_time >= first.update_time
    assert first.create_time.utcoffset() == timedelta(0)


def test_create_is_create_if_absent(store):
    assert store.create("claims/2025-01-15", {"by": "first"}) is True
    assert store.create("claims/2025-01-15", {"by": "second"}) is False
    assert store.get("claims/2025-01-15").data == {"by": "first"}


def test_racing_creates_have_exactly_one_winner(subject):
    store = subject.store

    won = run_together(subject.racers, lambda i: store.create("claims/trigger", {"by": i}))

    assert won.count(True) == 1
    assert store.get("claims/trigger").data == {"by": won.index(True)}


def test_paths_must_alternate_collection_and_document(store):
    with pytest.raises(ValueError):
        store.get("games")
    with pytest.raises(ValueError):
        store.set("games/g1/parts", {})
    with pytest.raises(ValueError):
        store.query("games/g1")


# --- update / delete ----------------------------------------------------------------

def test_update_merges_top_level_fields(store):
    store.set("games/g1", {"home": 1, "away": 2, "meta": {"a": 1, "b": 2}})

    updated = store.update("games/g1", {"away": 3, "meta": {"c": 3}, "status": "final"})

    assert updated.data == {"home": 1, "away": 3, "meta": {"c": 3}, "status": "final"}
    assert store.get("games/g1").data == updated.data


def test_update_of_a_missing_document_is_not_found(store):
    with pytest.raises(NotFound):
        store.update("games/missing", {"a": 1})


def test_update_with_a_stale_version_fails_and_changes_nothing(store):
    original = store.set("games/g1", {"n": 1})
    current = store.update("games/g1", {"n": 2}, expected_version=original.version)

    with pytest.raises(PreconditionFailed):
        store.update("games/g1", {"n": 99}, expected_version=original.version)
    assert store.get("games/g1").data == {"n": 2}
    assert store.update("games/g1", {"n": 3}, expected_version=current.version).data == {"n": 3}


def test_a_version_from_elsewhere_is_a_failed_precondition(store):
    store.set("games/g1", {"n": 1})

    with pytest.raises(PreconditionFailed):
        store.update("games/g1", {"n": 2}, expected_version="not-a-version")


def test_transaction_writes_are_taken_when_made(store):
    def write_then_mutate(tx: Transaction) -> None:
        data = {"parts": ["p1"]}
        tx.set("ledger/d1", data)
        data["parts"].append("p2")

    store.run_transaction(write_then_mutate)

    assert store.get("ledger/d1").data == {"parts": ["p1"]}


def test_a_version_is_never_reused_after_delete_and_recreate(store):
    old = store.set("games/g1", {"n": 1})
    store.delete("games/g1")
    store.set("games/g1", {"n": 1})

    with pytest.raises(PreconditionFailed):
        store.update("games/g1", {"n": 2}, expected_version=old.version)


def test_delete(store):
    first = store.set("games/g1", {"n": 1})
    store.update("games/g1", {"n": 2})

    with pytest.raises(PreconditionFailed):
        store.delete("games/g1", expected_version=first.version)
    store.delete("games/g1", expected_version=store.get("games/g1").version)
    assert store.get("games/g1") is None
    with pytest.raises(NotFound):
        store.delete("games/g1")


# --- transactions -------------------------------------------------------------------

def test_transaction_reads_then_writes_and_returns_fn_result(store):
    store.set("ledger/d1", {"parts": ["p1"]})

    def add_part(tx: Transaction) -> int:
        parts = tx.get("ledger/d1").data["parts"] + ["p2"]
        tx.update("ledger/d1", {"parts": parts})
        tx.set("ledger/d1/parts/p2", {"done": True})
        return len(parts)

    assert store.run_transaction(add_part) == 2
    assert store.get("ledger/d1").data == {"parts": ["p1", "p2"]}
    assert store.get("ledger/d1/parts/p2").data == {"done": True}


def test_a_failing_transaction_leaves_no_writes(store):
    store.set("ledger/d1", {"n": 1})

    def fail_after_writing(tx: Transaction) -> None:
        tx.get("ledger/d1")
        tx.set("ledger/d1", {"n": 2})
        tx.create("ledger/d2", {"n": 1})
        raise RuntimeError("handler crashed")

    with pytest.raises(RuntimeError, match="handler crashed"):
        store.run_transaction(fail_after_writing)
    assert store.get("ledger/d1").data == {"n": 1}
    assert store.get("ledger/d2") is None


def test_a_write_failing_at_commit_rolls_back_the_others(store):
    store.set("claims/c1", {"by": "someone"})

    def claim_twice(tx: Transaction) -> None:
        tx.set("ledger/d1", {"claimed": True})
        tx.create("claims/c1", {"by": "me"})

    with pytest.raises(AlreadyExists):
        store.run_transaction(claim_twice)
    assert store.get("ledger/d1") is None
    assert store.get("claims/c1").data == {"by": "someone"}


def test_transaction_update_of_a_missing_document_is_not_found(store):
    with pytest.raises(NotFound):
        store.run_transaction(lambda tx: tx.update("ledger/missing", {"n": 1}))


def test_reads_after_writes_are_refused(store):
    def read_after_write(tx: Transaction) -> None:
        tx.set("ledger/d1", {"n": 1})
        tx.get("ledger/d1")

    with pytest.raises(DocumentStoreError):
        store.run_transaction(read_after_write)
    assert store.get("ledger/d1") is None


def test_get_all_answers_in_the_order_asked_with_none_where_absent(store):
    kickoff = datetime(2025, 1, 15, 19, 30, tzinfo=UTC)
    store.set("games/g2", {"n": 2, "at": kickoff})
    store.set("games/g1", {"n": 1})

    found = store.get_all(["games/g1", "games/missing", "games/g2", "games/g1"])

    assert [d.data if d else None for d in found] == [{"n": 1}, None, {"n": 2, "at": kickoff}, {"n": 1}]
    assert found[2].version == store.get("games/g2").version
    assert store.get_all([]) == []


def test_get_all_reads_more_than_one_chunk(store):
    store.set_many([(f"members/m{n:04d}", {"n": n}) for n in range(500)])
    store.set_many([(f"members/m{n:04d}", {"n": n}) for n in range(500, 620)])

    found = store.get_all([f"members/m{n:04d}" for n in reversed(range(620))])

    assert [d.data["n"] for d in found] == list(reversed(range(620)))


def test_transaction_get_all_reads_before_writes(store):
    store.set("ledger/a", {"n": 1})
    store.set("ledger/b", {"n": 2})

    def move(tx: Transaction) -> int:
        a, b, c = tx.get_all(["ledger/a", "ledger/b", "ledger/c"])
        assert c is None
        tx.set("ledger/c", {"n": a.data["n"] + b.data["n"]})
        return a.data["n"] + b.data["n"]

    assert store.run_transaction(move) == 3
    assert store.get("ledger/c").data == {"n": 3}

    def read_after_write(tx: Transaction) -> None:
        tx.set("ledger/d", {"n": 1})
        tx.get_all(["ledger/a"])

    with pytest.raises(DocumentStoreError):
        store.run_transaction(read_after_write)
    assert store.get("ledger/d") is None


def test_set_many_writes_every_document_and_refuses_more_than_a_batch(store):
    kickoff = datetime(2025, 1, 15, 19, 30, tzinfo=UTC)
    store.set("games/g1", {"old": True})

    store.set_many([("games/g1", {"n": 1, "at": kickoff}), ("games/g2", {"n": 2}), ("games/g2/parts/p1", {"n": 3})])

    assert store.get("games/g1").data == {"n": 1, "at": kickoff}
    assert [d.data["n"] for d in store.query("games")] == [1, 2]
    assert store.get("games/g2/parts/p1").data == {"n": 3}
    with pytest.raises(ValueError, match="at most 500"):
        store.set_many([(f"games/x{n}", {"n": n}) for n in range(501)])
    assert store.get("games/x0") is None
    store.set_many([])


def test_concurrent_read_modify_write_transactions_lose_no_update(subject):
    store = subject.store

    def increment(tx: Transaction) -> None:
        counter = tx.get("counters/c")
        tx.set("counters/c", {"n": (counter.data["n"] if counter else 0) + 1})

    def worker(_: int) -> None:
        for _ in range(subject.increments_per_thread):
            store.run_transaction(increment, max_attempts=20)

    run_together(subject.increment_threads, worker)

    assert store.get("counters/c").data == {"n": subject.increment_threads * subject.increments_per_thread}


# --- queries ------------------------------------------------------------------------

@pytest.fixture
def players(store) -> DocumentStore:
    rows = {
        "p1": {"team": "LAL", "points": 30, "active": True},
        "p2": {"team": "LAL", "points": 12.5, "active": False},
        "p3": {"team": "BOS", "points": 25, "active": True},
        "p4": {"team": "BOS", "points": None, "active": True},
        "p5": {"team": "NYK", "active": True},
        "p6": {"team": "NYK", "points": "n/a", "active": True},
    }
    for player_id, data in rows.items():
        store.set(f"players/{player_id}", data)
    return store


def ids(documents) -> list[str]:
    return [document.id for document in documents]


@pytest.mark.parametrize("filters, expected", [
    ([("team", "==", "LAL")], ["p1", "p2"]),
    ([("team", "!=", "LAL")], ["p3", "p4", "p5", "p6"]),
    ([("points", ">", 20)], ["p3", "p1"]),
    ([("points", ">=", 25)], ["p3", "p1"]),
    ([("points", "<", 25)], ["p2"]),
    ([("points", "<=", 25)], ["p2", "p3"]),
    ([("points", "==", None)], ["p4"]),
    ([("points", "!=", 30)], ["p2", "p3", "p6"]),
    ([("team", "in", ["BOS", "NYK"])], ["p3", "p4", "p5", "p6"]),
    ([("team", "==", "BOS"), ("active", "==", True)], ["p3", "p4"]),
    ([("active", "==", 1)], []),
])
def test_query_filters_follow_firestore_typing(players, filters, expected):
    assert ids(players.query("players", filters)) == expected


def test_query_orders_and_limits(players):
    assert ids(players.query("players", order_by="points")) == ["p4", "p2", "p3", "p1", "p6"]
    assert ids(players.query("players", [("team", "in", ["LAL", "BOS"])], order_by="points",
                             descending=True)) == ["p1", "p3", "p2", "p4"]
    assert ids(players.query("players", order_by="team", limit=3)) == ["p3", "p4", "p1"]
    assert ids(players.query("players", limit=2)) == ["p1", "p2"]
    with pytest.raises(ValueError):
        players.query("players", descending=True)  # Firestore cannot scan keys in descending order


def test_count(players):
    assert players.count("players") == 6
    assert players.count("players", [("active", "==", True)]) == 5
    assert players.count("players", [("points", ">", 100)]) == 0
    assert players.count("empty") == 0


def test_datetimes_compare_as_instants_in_queries(store):
    base = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    store.set("runs/r1", {"at": base})
    store.set("runs/r2", {"at": (base + timedelta(hours=1)).astimezone(timezone(timedelta(hours=5)))})
    store.set("runs/r3", {"at": (base - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=-8)))})
    store.set("runs/r4", {"at": "2025-01-15T13:00:00Z"})  # a string, not a timestamp

    later = store.query("runs", [("at", ">", base.astimezone(timezone(timedelta(hours=2))))])
    in_order = store.query("runs", order_by="at")

    assert ids(later) == ["r2"]
    assert ids(in_order) == ["r3", "r1", "r2", "r4"]
    assert ids(store.query("runs", [("at", "==", base)])) == ["r1"]


def test_queries_see_only_documents_directly_in_the_collection(store):
    store.set("fanin/2025-01-15", {"state": "open"})
    store.set("fanin/2025-01-15/parts/p1", {"state": "done"})
    store.set("fanin/2025-01-15/parts/p2", {"state": "done"})
    store.set("other/x/fanin/y", {"state": "open"})

    assert ids(store.query("fanin")) == ["2025-01-15"]
    assert store.count("fanin", [("state", "==", "done")]) == 0
    assert ids(store.query("fanin/2025-01-15/parts")) == ["p1", "p2"]
    assert store.count("fanin/2025-01-15/parts") == 2


# --- adapter specifics --------------------------------------------------------------

def test_sqlite_in_memory_store_serves_many_threads():
    store = SqliteDocumentStore(":memory:")

    def increment(tx: Transaction) -> None:
        counter = tx.get("counters/c")
        tx.set("counters/c", {"n": (counter.data["n"] if counter else 0) + 1})

    run_together(8, lambda _: [store.run_transaction(increment) for _ in range(10)])

    assert store.get("counters/c").data == {"n": 80}
    store.close()


def test_sqlite_gives_up_with_transaction_aborted_while_another_writer_holds_the_lock(tmp_path):
    path = tmp_path / "documents.sqlite3"
    store = SqliteDocumentStore(path, busy_timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransactionAborted):
            store.run_transaction(lambda tx: tx.set("games/g1", {"n": 1}), max_attempts=3)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.get("games/g1") is None
    store.close()


def _increment_in_process(path: str, times: int) -> None:
    store = SqliteDocumentStore(path)

    def increment(tx: Transaction) -> None:
        counter = tx.get("counters/c")
        tx.set("counters/c", {"n": (counter.data["n"] if counter else 0) + 1})

    for _ in range(times):
        store.run_transaction(increment, max_attempts=20)
    store.close()


def test_sqlite_file_is_shared_safely_by_processes(tmp_path: Path):
    path = str(tmp_path / "documents.sqlite3")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_increment_in_process, args=(path, 20)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0, 0, 0]
    assert SqliteDocumentStore(path).get("counters/c").data == {"n": 60}


@pytest.mark.emulator
def test_firestore_namespaces_isolate_stores(emulators, unique_name):
    from shared.adapters.gcp.firestore import FirestoreDocumentStore

    project = emulators.get("GOOGLE_CLOUD_PROJECT", "sportsflow-local")
    first = FirestoreDocumentStore(project, namespace=f"{unique_name}-a")
    second = FirestoreDocumentStore(project, namespace=f"{unique_name}-b")
    first.set("games/g1", {"n": 1})

    assert second.get("games/g1") is None
    assert second.count("games") == 0
    assert first.get("games/g1").path == "games/g1"
    first.close()
    second.close()
