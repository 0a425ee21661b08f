"""The console over a seeded home, as a WSGI app with known development tokens."""
from __future__ import annotations

import pytest
from werkzeug.test import Client

from shared.console.server import COOKIE, console_app
from shared.runtime.auth import DevTokenVerifier
from tests.console.seed import seed_home

INVOKER_TOKEN, ADMIN_TOKEN = "invoker-token-for-tests", "admin-token-for-tests"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    home = seed_home(tmp_path_factory.mktemp("console-home"))
    yield home
    home.harness.__exit__(None, None, None)


@pytest.fixture(scope="module")
def app(seeded):
    return console_app(services=seeded.services, verifier=DevTokenVerifier(INVOKER_TOKEN, ADMIN_TOKEN))


def signed_in(app, token: str) -> Client:
    client = Client(app)
    client.set_cookie(COOKIE, token)
    return client


@pytest.fixture
def admin(app) -> Client:
    return signed_in(app, ADMIN_TOKEN)


@pytest.fixture
def invoker(app) -> Client:
    return signed_in(app, INVOKER_TOKEN)
