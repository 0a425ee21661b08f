from __future__ import annotations

import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.tournaments.season import end_match, load_season

load_plan = load_season
__all__ = ["end_match", "load_plan"]


@pytest.fixture
def documents(tmp_path):
    store = SqliteDocumentStore(tmp_path / "d.sqlite")
    yield store
    store.close()
