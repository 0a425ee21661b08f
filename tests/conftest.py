"""Shared fixtures. Emulator tests read the endpoints `sportsflow emulators up` wrote.

Locally they skip when no emulators run, and real-data tests skip without ../shared/data;
CI (`.ci/run`) sets SPORTSFLOW_REQUIRE_EMULATORS=1 and SPORTSFLOW_REQUIRE_DATA=1, so a missing
emulator or missing data fails instead of silently skipping.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from shared.config import ConfigError, Settings, emulator_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("SPORTSFLOW_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def emulators() -> dict[str, str]:
    """Endpoints of the running emulators, exported into os.environ for the Google clients."""
    try:
        env = emulator_environment(Settings.from_env())
    except ConfigError as err:
        if os.environ.get("SPORTSFLOW_REQUIRE_EMULATORS") == "1":
            pytest.fail(str(err))
        pytest.skip(str(err))
    os.environ.update(env)
    return env


@pytest.fixture(scope="session", autouse=True)
def _replay_cache_of_this_session(tmp_path_factory):
    """The replay cache (shared/providers/replay_cache.py) of every test and the CLI processes
    they start is one fresh directory: tests never read or fill the user's ~/.cache/sportsflow/replay."""
    os.environ["SPORTSFLOW_REPLAY_CACHE"] = str(tmp_path_factory.mktemp("replay-cache"))
    yield


@pytest.fixture
def unique_name() -> str:
    """A fresh name for topics, collections, datasets, buckets: tests never share emulator state."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.exists():
        missing = f"real data not found at {DATA_DIR} (see ../shared/data/README.md)"
        if os.environ.get("SPORTSFLOW_REQUIRE_DATA") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    return DATA_DIR


@pytest.fixture(autouse=True)
def _restore_sportsflow_logging():
    """Commands run in process (CliRunner) route the `sportsflow` logger to their own stream and
    stop propagation; put it back, so later tests' caplog sees records and nothing writes to a
    closed stream."""
    import logging
    logger = logging.getLogger("sportsflow")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]
