"""Leases are measured on the document store's clock, never an instance's: two instances whose
wall clocks disagree by 100 s still agree on who holds a lease."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.adapters.gcp.firestore import ServerClock

SERVER_TIME = datetime(2025, 1, 16, 6, 0, tzinfo=timezone.utc)


class FakeReference:
    """A document whose write answers with the server's commit time."""

    def __init__(self, server_time):
        self.server_time = server_time
        self.writes = 0

    def set(self, data):
        self.writes += 1
        return type("WriteResult", (), {"update_time": self.server_time})()


def test_the_server_clock_ignores_the_instance_clock():
    """The server says 2025-01-16; this instance's wall clock says otherwise (today): the
    store's now() is the server's, carried forward on the monotonic clock."""
    reference = FakeReference(SERVER_TIME)
    clock = ServerClock(reference)
    assert abs(clock.now() - SERVER_TIME) < timedelta(seconds=1)
    assert abs(clock.now() - SERVER_TIME) < timedelta(seconds=1)
    assert reference.writes == 1  # one write, then re-read only every minute


def test_it_resyncs_after_a_minute(monkeypatch):
    import time
    reference = FakeReference(SERVER_TIME)
    clock = ServerClock(reference)
    clock.now()
    later = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: later)
    reference.server_time = SERVER_TIME + timedelta(seconds=61)
    assert abs(clock.now() - reference.server_time) < timedelta(seconds=1) and reference.writes == 2


@pytest.mark.emulator
def test_two_firestore_instances_share_one_clock(emulators, unique_name):
    from shared.adapters.gcp.firestore import FirestoreDocumentStore
    a = FirestoreDocumentStore(emulators["GOOGLE_CLOUD_PROJECT"], namespace=unique_name)
    b = FirestoreDocumentStore(emulators["GOOGLE_CLOUD_PROJECT"], namespace=unique_name)
    written = a.set("clock_probe/x", {"v": 1}).update_time
    assert abs(a.now() - written) < timedelta(seconds=2)
    assert abs(a.now() - b.now()) < timedelta(seconds=1)
