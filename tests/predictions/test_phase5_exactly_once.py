"""Phase 5 under faults: a crash in every window of the fan-out, the workers and the fan-in, and
`--chaos`, still predict each player exactly once per system and model version and announce
`phase5-predictions-complete` once (a re-published completion carries the same claim id)."""
from __future__ import annotations

import pytest

from shared.predictions.coverage import coverage
from shared.runtime import crash_points
from tests.exactly_once.harness import DAY, FireAt, open_pipeline
from tests.predictions.phase5_harness import (
    assert_each_player_predicted_once,
    batches,
    build_phase4_home,
    copy_home,
    listen,
    phase4_completion,
    publish,
)

COMPLETE_TOPIC = "phase5-predictions-complete"


@pytest.fixture(scope="module")
def phase4_home(tmp_path_factory):
    return build_phase4_home(tmp_path_factory.mktemp("phase4"))


def _completion_target(context) -> bool:
    return str(context.get("target", "")).startswith("phase5-complete/")


CRASHES = {
    "fan-out killed after a chunk, before recording it": FireAt(crash_points.FANOUT_CHUNK_PUBLISHED),
    "fan-out killed after its last chunk": FireAt(crash_points.FANOUT_CHUNK_PUBLISHED,
                                                  when=lambda c: True, times=3),
    "workers killed after writing, before marking done": FireAt(crash_points.PREDICTIONS_WRITTEN, times=40),
    "completion claimed, publisher killed": FireAt(crash_points.FANIN_CLAIMED, when=_completion_target),
    "completion published, the publish timed out": FireAt(
        crash_points.PUBLISH_DELIVERED, when=lambda c: c.get("topic") == COMPLETE_TOPIC),
    "ready published, the publish timed out": FireAt(
        crash_points.PUBLISH_DELIVERED, when=lambda c: c.get("topic") == "prediction-ready", times=25),
}


@pytest.mark.parametrize("window", sorted(CRASHES))
def test_a_crash_in_any_window_predicts_once_and_completes_once(phase4_home, tmp_path, window):
    injector = CRASHES[window]
    injector.fired = 0
    with open_pipeline(copy_home(phase4_home, tmp_path / "home")) as pipeline:
        completed = listen(pipeline, COMPLETE_TOPIC)
        crash_points.install(injector)
        try:
            with pipeline.delivering():
                publish(pipeline, "phase4-precompute-complete", phase4_completion(pipeline))
        finally:
            crash_points.install(None)
        pipeline._reconcile_until_repaired(DAY)  # whatever the crash left for the reconciler
        assert injector.fired >= 1, f"{window}: the crash never happened"
        assert len(batches(pipeline)) == 1
        assert_each_player_predicted_once(pipeline)
        assert len({m.claim_id for m in completed.messages}) == 1, window
        assert coverage(pipeline.services, DAY).complete and pipeline.is_finished(DAY)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_chaos_predicts_like_a_clean_run_and_completes_once(tmp_path, seed):
    with open_pipeline(tmp_path / "clean") as clean:
        expected = {t.table: t.checksum for t in clean.run_date(DAY).tables if t.table.startswith("nba_predictions")}
    with open_pipeline(tmp_path / "chaos", chaos_seed=seed) as pipeline:
        completed = listen(pipeline, COMPLETE_TOPIC)
        report = pipeline.run_date(DAY)
        assert report.finished, report.missing
        assert {t.table: t.checksum for t in report.tables if t.table in expected} == expected
        assert_each_player_predicted_once(pipeline)
        assert len({m.claim_id for m in completed.messages}) == 1
        assert report.triggers["phase5_coordinator"] == 1
