from __future__ import annotations

from typing import Iterator

import pytest

from .fake_provider import FakeProvider
from .fake_time import FakeClock, SleepRecorder


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> SleepRecorder:
    return SleepRecorder(clock)


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as running:
        yield running
