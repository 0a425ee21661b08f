"""A local home (DuckDB warehouse, SQLite documents, file evidence) holding a small season,
written once per session and copied for each test."""
from __future__ import annotations

import shutil

import pytest

from shared.bootstrap import Services
from shared.config import Settings
from tests.predictions.season import SmallSeason, write_season


def services_on(home) -> Services:
    """Adapters on a home: what a process (the CLI, a worker) opens."""
    return Services(Settings.from_env({}, home=home))


@pytest.fixture(scope="session")
def season_template(tmp_path_factory) -> tuple:
    home = tmp_path_factory.mktemp("season") / "home"
    services = services_on(home)
    season = write_season(services.warehouse)
    services.close()
    return home, season


@pytest.fixture
def home(tmp_path, season_template):
    copy = tmp_path / "home"
    shutil.copytree(season_template[0], copy)
    return copy


@pytest.fixture
def season(season_template) -> SmallSeason:
    return season_template[1]


@pytest.fixture
def services(home):
    services = services_on(home)
    yield services
    services.close()
