"""Fixtures for the live match state: a store on a clock the test moves, and diary matches."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.live.diary import match_from_diary
from shared.live.model import LiveProviderUpdate
from shared.live.store import MatchStore

KICKOFF = 1_767_000_000  # 2025-12-29 09:20 UTC


@dataclass
class FakeClock:
    """The store's clock (UTC Unix seconds), moved by the test."""
    seconds: float = KICKOFF - 600

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock, tmp_path) -> MatchStore:
    documents = SqliteDocumentStore(tmp_path / "documents.sqlite", clock=clock)
    yield MatchStore(documents)
    documents.close()


def add_match(store: MatchStore, match_id: str = "m1", match_time: int = KICKOFF, **extra) -> None:
    entry = {"match_id": match_id, "home_team": "Home", "away_team": "Away", "match_time": match_time, **extra}
    assert store.create(match_from_diary(entry, store.now()))


def update(match_id: str = "m1", status_id: int = 2, provider_update_time: int = 1, **extra) -> LiveProviderUpdate:
    return LiveProviderUpdate(match_id=match_id, status_id=status_id, provider_update_time=provider_update_time,
                              **extra)
