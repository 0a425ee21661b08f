"""The predictions API serves the workers' projection (never a warehouse scan per request), cached
per date version and invalidated when a newer version lands; only authenticated callers."""
from __future__ import annotations

import json

import flask
import pytest

from shared.predictions import api
from shared.predictions.batches import BatchLedger
from shared.runtime import auth
from shared.runtime.entrypoints import HttpFunction
from shared.topology import TOPOLOGY
from tests.exactly_once.harness import DAY, open_pipeline
from tests.predictions.phase5_harness import build_phase4_home, copy_home, phase4_completion, publish

TOKEN = "api-test-token"


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    home = copy_home(build_phase4_home(tmp_path_factory.mktemp("phase4")), tmp_path_factory.mktemp("api"))
    with open_pipeline(home) as pipeline:
        with pipeline.delivering():
            publish(pipeline, "phase4-precompute-complete", phase4_completion(pipeline))
        yield pipeline


@pytest.fixture
def client(predicted, monkeypatch):
    monkeypatch.setattr("shared.runtime.entrypoints._services", predicted.services)
    monkeypatch.setattr(api, "_cache", None)
    function = HttpFunction(TOPOLOGY.function("predictions_api"), verifier=auth.DevTokenVerifier(TOKEN),
                            services_factory=lambda: predicted.services)
    app = flask.Flask("predictions-api")
    app.add_url_rule("/<path:path>", "any", lambda path: function(flask.request), methods=["GET", "POST"])

    def get(path, token=TOKEN, method="GET", **query):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return app.test_client().open(path, method=method, query_string=query, headers=headers)

    return get


def _a_player(pipeline) -> int:
    batch = BatchLedger(pipeline.services.documents).current(DAY)
    return batch.players[0].player_id


def test_one_player_one_market_with_every_system_and_its_version(client, predicted):
    player = _a_player(predicted)
    response = client("/predictions", date=DAY.isoformat(), player=player, market="points")
    assert response.status_code == 200 and response.headers["X-Cache"] in ("hit", "miss")
    [body] = response.get_json()["predictions"]
    assert body["player_id"] == player and set(body["markets"]) == {"points"}
    systems = body["markets"]["points"]
    assert {"rolling_average", "ensemble"} <= set(systems)
    for value in systems.values():
        assert value["interval_low"] <= value["prediction"] <= value["interval_high"] and value["model_version"]


def test_the_whole_date_and_its_coverage(client, predicted):
    batch = BatchLedger(predicted.services.documents).current(DAY)
    body = client("/predictions", date=DAY.isoformat()).get_json()
    assert body["count"] == batch.expected
    coverage = client("/predictions/coverage", date=DAY.isoformat()).get_json()
    assert coverage == {"date": DAY.isoformat(), "batch_id": batch.batch_id, "generation": 1,
                        "requested": batch.expected, "predicted": batch.expected, "coverage": 1.0, "complete": True,
                        "superseded": False}


@pytest.mark.parametrize("query, status", [
    ({}, 400), ({"date": "yesterday"}, 400), ({"date": DAY.isoformat(), "player": "1; drop"}, 400),
    ({"date": "20250115"}, 400), ({"date": "2025-W03-3"}, 400), ({"date": "9999-12-31"}, 400),
    ({"date": DAY.isoformat(), "player": "\u00b2"}, 400), ({"date": DAY.isoformat(), "player": "\u0661\u0662"}, 400),
    ({"date": DAY.isoformat(), "market": "steals"}, 400), ({"date": DAY.isoformat(), "player": "1"}, 404),
])
def test_bad_requests_say_what_is_wrong(client, query, status):
    response = client("/predictions", **query)
    assert response.status_code == status and response.get_json()["error"]


def test_only_get_and_only_known_paths(client):
    assert client("/predictions", method="POST", date=DAY.isoformat()).status_code == 405
    assert client("/admin", date=DAY.isoformat()).status_code == 404


@pytest.mark.parametrize("token, status", [(None, 401), ("wrong", 403)])
def test_unauthenticated_and_wrong_callers_are_refused(client, token, status):
    assert client("/predictions", token=token, date=DAY.isoformat()).status_code == status


def test_repeated_reads_are_served_from_the_cache_without_reading_the_store(predicted):
    reads = []
    documents = predicted.services.documents
    counting = _CountingDocuments(documents, reads)
    cache = api.PredictionsCache(counting, clock=lambda: 0.0)
    player = {"date": DAY.isoformat(), "player": str(_a_player(predicted))}
    status, first, hit = api.predictions(counting, cache, player)
    assert json.loads(first)["predictions"][0]["player_id"] == int(player["player"])
    assert (status, hit) == (200, False)
    before = len(reads)
    for _ in range(50):
        assert api.predictions(counting, cache, player) == (200, first, True)
    assert len(reads) == before and cache.hit_rate == 50 / 51


def test_a_newer_version_landing_invalidates_the_dates_entries(predicted):
    """A completion of a newer batch changes the date's token: the next read sees the new projection."""
    documents = predicted.services.documents
    now = [0.0]
    cache = api.PredictionsCache(documents, clock=lambda: now[0])
    query = {"date": DAY.isoformat(), "player": str(_a_player(predicted))}
    _, before, _ = api.predictions(documents, cache, query)
    assert json.loads(before)["predictions"][0]["generation"] == 1
    pointer_path = f"phase5_dates/{DAY.isoformat()}"
    pointer = documents.get(pointer_path).data
    path = f"predictions/{DAY.isoformat()}/players/{query['player']}"
    original = documents.get(path).data
    try:
        documents.set(path, {**original, "generation": 2, "batch_id": "newer"})
        documents.update(pointer_path, {"batch_id": "newer", "generation": 2, "completed_batch_id": "newer"})
        assert api.predictions(documents, cache, query)[1:] == (before, True)  # the token: re-read once a second
        now[0] += api.TOKEN_TTL_S + 0.01
        _, after, hit = api.predictions(documents, cache, query)
        assert json.loads(after)["predictions"][0]["batch_id"] == "newer" and not hit
    finally:
        documents.set(path, original)
        documents.set(pointer_path, pointer)


class _CountingDocuments:
    def __init__(self, documents, reads):
        self._documents, self._reads = documents, reads

    def get(self, path):
        self._reads.append(path)
        return self._documents.get(path)

    def query(self, *args, **kwargs):
        self._reads.append(args)
        return self._documents.query(*args, **kwargs)

    def count(self, *args, **kwargs):
        self._reads.append(args)
        return self._documents.count(*args, **kwargs)
