"""The Phase 5 coordinator's routes are idempotent per date and input version: whichever fire, in
any order, concurrently, after workers die, each player is predicted exactly once per system and
model version, `phase5-predictions-complete` is announced once, and /status is right at every step."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared.predictions import coordinator, fan_out
from shared.predictions.coverage import coverage
from shared.predictions.worker import handle_prediction_request
from shared.runtime import crash_points
from tests.exactly_once.harness import DAY, FireAt, open_pipeline
from tests.predictions.phase5_harness import (
    assert_each_player_predicted_once,
    batches,
    build_phase4_home,
    copy_home,
    feature_players,
    listen,
    phase4_completion,
    prediction_rows,
    publish,
)

TRIGGER_TOPIC = "phase4-precompute-complete"
COMPLETE_TOPIC = "phase5-predictions-complete"


@pytest.fixture(scope="module")
def phase4_home(tmp_path_factory):
    return build_phase4_home(tmp_path_factory.mktemp("phase4"))


@pytest.fixture
def pipeline(phase4_home, tmp_path):
    with open_pipeline(copy_home(phase4_home, tmp_path / "home")) as pipeline:
        yield pipeline


def _completions(listener) -> set[str]:
    claim_ids = {m.claim_id for m in listener.messages}
    assert None not in claim_ids
    return claim_ids


def test_before_any_trigger_status_names_every_player_never_requested(pipeline):
    status = coverage(pipeline.services, DAY)
    assert status.batch_id is None and status.predicted == 0
    assert set(status.missing["never requested"]) == feature_players(pipeline)


def test_a_duplicate_trigger_fans_out_once(pipeline):
    completed = listen(pipeline, COMPLETE_TOPIC)
    requests = listen(pipeline, fan_out.REQUEST_TOPIC)
    message = phase4_completion(pipeline)
    with pipeline.delivering():
        publish(pipeline, TRIGGER_TOPIC, message)
        publish(pipeline, TRIGGER_TOPIC, message)
    with pipeline.delivering():
        publish(pipeline, TRIGGER_TOPIC, message)  # after it all finished
    assert len(batches(pipeline)) == 1
    assert len(requests.messages) == len(feature_players(pipeline))
    assert_each_player_predicted_once(pipeline)
    assert len(_completions(completed)) == 1 and len(completed.messages) == 1
    status = coverage(pipeline.services, DAY)
    assert (status.predicted, status.requested, status.complete, status.missing) == (
        len(feature_players(pipeline)), len(feature_players(pipeline)), True, {})


def test_start_racing_two_triggers_opens_one_batch_and_requests_each_player_once(pipeline):
    requests = listen(pipeline, fan_out.REQUEST_TOPIC)
    completed = listen(pipeline, COMPLETE_TOPIC)
    barrier = threading.Barrier(3)
    results, errors = [], []

    def start():
        barrier.wait()
        results.append(coordinator.start(pipeline.services, DAY, publish=_publisher(pipeline), wait=timedelta(0)))

    def trigger():
        barrier.wait()
        results.append(fan_out.request_predictions(pipeline.services, DAY, route="trigger", claimant="t",
                                                   publish=_publisher(pipeline)))

    with pipeline.delivering():
        threads = [threading.Thread(target=_catching(f, errors)) for f in (start, trigger, trigger)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(batches(pipeline)) == 1
    players = feature_players(pipeline)
    assert sorted(m.player_id for m in requests.messages) == sorted(players)  # fanned out exactly once
    assert_each_player_predicted_once(pipeline)
    assert len(_completions(completed)) == 1


def test_retry_after_a_third_of_the_workers_died_predicts_only_the_rest_exactly_once(phase4_home, tmp_path):
    """A third of the workers die after writing their rows (before marking them done) and their
    messages are lost with them; /status says who is missing; /retry asks for exactly those."""
    lost: list[int] = []

    def dies_for_a_third(message, ctx):
        if message.player_id % 3 == 0 and message.player_id not in lost:
            lost.append(message.player_id)
            crash_points.install(FireAt(crash_points.PREDICTIONS_WRITTEN, times=1))
            try:
                return handle_prediction_request(message, ctx)
            except crash_points.SimulatedCrash:
                return None  # the process died: this delivery is gone (acked by nobody, redelivered by nobody)
            finally:
                crash_points.install(None)
        return handle_prediction_request(message, ctx)

    home = copy_home(phase4_home, tmp_path / "home")
    pipeline = open_pipeline(home)
    pipeline.__enter__()
    try:
        from shared.runtime.embedded import EmbeddedDeployment
        EmbeddedDeployment(pipeline.services, handlers={"phase5_prediction_worker": dies_for_a_third}).deploy()
        completed = listen(pipeline, COMPLETE_TOPIC)
        with pipeline.delivering():
            publish(pipeline, TRIGGER_TOPIC, phase4_completion(pipeline))
        players = feature_players(pipeline)
        status = coverage(pipeline.services, DAY)
        assert lost and status.predicted == len(players) - len(lost) and not status.complete
        assert set(status.missing["requested, not yet predicted"]) == set(lost)
        assert completed.messages == []
        requests = listen(pipeline, fan_out.REQUEST_TOPIC)
        with pipeline.delivering():
            result = coordinator.retry(pipeline.services, DAY, publish=_publisher(pipeline))
        assert sorted(result["retried_players"]) == sorted(lost)
        assert sorted(m.player_id for m in requests.messages) == sorted(lost)
        assert_each_player_predicted_once(pipeline)  # the dead workers' rows were not appended twice
        status = coverage(pipeline.services, DAY)
        assert status.complete and status.predicted == len(players) and status.missing == {}
        assert len(_completions(completed)) == 1
        with pipeline.delivering():  # the 6:30 retry finds nothing left
            assert coordinator.retry(pipeline.services, DAY, publish=_publisher(pipeline))["retried"] == 0
        assert len(completed.messages) == 1
    finally:
        pipeline.__exit__(None, None, None)


def test_start_waits_for_phase4_in_virtual_time_then_starts(pipeline):
    """Phase 4 finishes 12 virtual minutes after /start: it starts then, without sleeping for real."""
    from shared.pipeline.data_versions import version_path
    documents = pipeline.services.documents
    version_doc = documents.get(version_path("ml_feature_store_v2", DAY))
    documents.delete(version_path("ml_feature_store_v2", DAY))  # Phase 4 has not recorded its version yet
    clock = _VirtualClock(documents.now())

    def sleep(seconds: float) -> None:
        clock.advance(seconds)
        if clock.elapsed >= timedelta(minutes=12) and documents.get(version_doc.path) is None:
            documents.set(version_doc.path, version_doc.data)

    answers = []
    with pipeline.delivering():
        while not answers or answers[-1].get("waiting"):  # one call waits ≤ 8 minutes; the scheduler retries
            answers.append(coordinator.start(pipeline.services, DAY, publish=_publisher(pipeline), sleep=sleep,
                                             now=clock))
            assert len(answers) < 5
    assert [a["started"] for a in answers] == [False, True] and answers[-1]["reason"] == "phase 4 complete"
    assert timedelta(minutes=12) <= clock.elapsed < timedelta(minutes=14)
    assert coverage(pipeline.services, DAY).complete


def test_start_keeps_waiting_across_calls_until_30_minutes_then_starts_on_enough_features(pipeline):
    from shared.pipeline.data_versions import version_path
    documents = pipeline.services.documents
    documents.delete(version_path("ml_feature_store_v2", DAY))  # Phase 4 never records its version
    clock = _VirtualClock(documents.now())
    answers = []
    with pipeline.delivering():
        for _ in range(5):  # Cloud Scheduler's retries of the 6:00 job
            answers.append(coordinator.start(pipeline.services, DAY, publish=_publisher(pipeline),
                                             sleep=clock.advance, now=clock))
            if answers[-1]["started"]:
                break
            clock.advance(60)
    assert [a["started"] for a in answers] == [False] * (len(answers) - 1) + [True]
    assert all(a.get("waiting") for a in answers[:-1])
    assert timedelta(minutes=30) <= clock.elapsed <= timedelta(minutes=40)
    assert "phase 4 unfinished" in answers[-1]["reason"]
    [batch] = batches(pipeline)
    assert batch.feature_data_version.startswith("unfinished-")
    assert_each_player_predicted_once(pipeline)


def test_a_late_trigger_of_older_features_is_superseded(pipeline):
    message = phase4_completion(pipeline).model_copy(update={"data_version": "0" * 16})
    with pipeline.delivering():
        publish(pipeline, TRIGGER_TOPIC, message)
    assert batches(pipeline) == [] and prediction_rows(pipeline) == {}


def test_coordinator_routes_refuse_callers_without_the_token_and_run_nothing(pipeline, monkeypatch):
    import flask

    from shared.runtime import auth
    from shared.runtime.entrypoints import HttpFunction
    from shared.topology import TOPOLOGY

    monkeypatch.setattr("shared.runtime.entrypoints._services", pipeline.services)
    function = HttpFunction(TOPOLOGY.function("phase5_coordinator"), verifier=auth.DevTokenVerifier("right"),
                            services_factory=lambda: pipeline.services)
    app = flask.Flask("t")
    for path in ("/start", "/retry", "/trigger", "/ready", "/status"):
        for headers, status in (({}, 401), ({"Authorization": "Bearer wrong"}, 403)):
            with app.test_request_context(path, method="POST", headers=headers, json={"date": DAY.isoformat(),
                                                                                     "wait_minutes": 0}):
                assert function(flask.request).status_code == status, (path, status)
    assert batches(pipeline) == []
    with app.test_request_context("/status", method="GET", query_string={"date": DAY.isoformat()},
                                  headers={"Authorization": "Bearer right"}):
        response = function(flask.request)
    assert response.status_code == 200 and response.get_json()["predicted"] == 0


# --- helpers ----------------------------------------------------------------------------------
class _VirtualClock:
    def __init__(self, start):
        self.start = self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    @property
    def elapsed(self) -> timedelta:
        return self.now - self.start


def _publisher(pipeline):
    return pipeline._publisher("test", producer="phase5_coordinator")


def _catching(function, errors):
    def run():
        try:
            function()
        except Exception as err:  # surfaced by the assertion on `errors`
            errors.append(err)
    return run


def test_forged_readiness_never_completes_a_batch(pipeline):
    """Announcements for players outside the batch are refused; announcements without the workers'
    own record of the rows do not complete it."""
    from shared.contracts.messages import PredictionReady
    from shared.predictions import readiness
    from shared.runtime.errors import PermanentError

    completed = listen(pipeline, COMPLETE_TOPIC)
    dropped = []
    fan_out.request_predictions(pipeline.services, DAY, route="trigger", claimant="t",
                                publish=lambda topic, message: dropped.append(message) or "id")  # no worker runs
    [batch] = batches(pipeline)
    with pytest.raises(PermanentError, match="not in batch"):
        outsider = PredictionReady(success=True, game_date=DAY, batch_id=batch.batch_id, player_id=1)
        readiness.on_ready(pipeline.services, outsider, claimant="forger", publish=_publisher(pipeline))
    with pipeline.delivering():
        for player in batch.players:
            completed_now = readiness.on_ready(
                pipeline.services, PredictionReady(success=True, game_date=DAY, batch_id=batch.batch_id,
                                                   player_id=player.player_id, predictions_written=12),
                claimant="forger", publish=_publisher(pipeline))
            assert not completed_now
    assert completed.messages == [] and not coverage(pipeline.services, DAY).complete
    assert coverage(pipeline.services, DAY).predicted == 0


def test_a_date_predicted_before_is_predicted_again_when_its_features_change_even_with_predictions_off(
        pipeline, monkeypatch):
    """A backfill (predictions off) that recomputes a date with predictions must not leave them stale."""
    from dataclasses import replace

    with pipeline.delivering():
        publish(pipeline, TRIGGER_TOPIC, phase4_completion(pipeline))
    monkeypatch.setattr(pipeline.services, "settings", replace(pipeline.services.settings, predictions_enabled=False))
    newer = phase4_completion(pipeline).model_copy(update={"data_version": "f" * 32})
    from shared.pipeline.data_versions import version_path
    documents = pipeline.services.documents
    path = version_path("ml_feature_store_v2", DAY)
    documents.set(path, {**documents.get(path).data, "version": "f" * 32})  # Phase 4 recomputed the date
    assert not coverage(pipeline.services, DAY).complete  # the old predictions are not the current ones
    with pipeline.delivering():
        publish(pipeline, TRIGGER_TOPIC, newer)
    assert [b.generation for b in batches(pipeline)] == [1, 2]
    status = coverage(pipeline.services, DAY)
    assert status.complete and status.generation == 2 and not status.superseded
    assert {key[4] for key in prediction_rows(pipeline)} == {batches(pipeline)[1].batch_id}  # no stale rows


def test_coordinator_methods_and_bodies_are_checked(pipeline, monkeypatch):
    import flask

    from shared.runtime import auth
    from shared.runtime.entrypoints import HttpFunction
    from shared.topology import TOPOLOGY

    monkeypatch.setattr("shared.runtime.entrypoints._services", pipeline.services)
    function = HttpFunction(TOPOLOGY.function("phase5_coordinator"), verifier=auth.DevTokenVerifier("right"),
                            services_factory=lambda: pipeline.services)
    app = flask.Flask("t")
    bearer = {"Authorization": "Bearer right"}
    for method, path, body, status in (("GET", "/trigger", None, 405), ("DELETE", "/retry", None, 405),
                                       ("GET", "/start", None, 405), ("POST", "/start", [1], 400),
                                       ("POST", "/retry", {"date": "15/01/2025"}, 400)):
        with app.test_request_context(path, method=method, headers=bearer, json=body):
            assert function(flask.request).status_code == status, (method, path)
    assert batches(pipeline) == []
