"""What the Phase 5 tests share: a home where Phases 1–4 finished for DAY with predictions switched
off (built once, copied per test), a pipeline on it with predictions on, and counts of what
the coordinator and workers did."""
from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from shared.contracts.codec import decode, encode
from shared.contracts.messages import PrecomputeCompleted
from shared.pipeline import data_versions
from shared.pipeline.runner import Pipeline
from shared.predictions.batches import BatchLedger
from shared.predictions.tables import PLAYER_PROP_PREDICTIONS
from shared.topology.model import SubscriptionSpec
from tests.exactly_once.harness import DAY, open_pipeline

FEATURES = "ml_feature_store_v2"


def build_phase4_home(home: Path, day: date = DAY) -> Path:
    from shared.predictions.coordinator import SWITCHED_OFF
    with open_pipeline(home, predictions_enabled=False) as pipeline:
        report = pipeline.run_date(day)
        assert report.finished and report.predictions["switched_off"], report.missing
        pipeline.services.documents.delete(f"{SWITCHED_OFF}/{day.isoformat()}")  # as if Phase 4 just finished
    return home


def copy_home(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


@dataclass
class Listener:
    """A downstream subscriber of one topic (acknowledges everything it hears)."""
    messages: list = field(default_factory=list)

    def __call__(self, received) -> None:
        self.messages.append(decode(received.data).message)


def listen(pipeline: Pipeline, topic: str) -> Listener:
    listener = Listener()
    name = f"test-listener--{topic}"
    pipeline.services.bus.create_subscription(SubscriptionSpec(name=name, topic=topic, dead_letter_topic=None))
    pipeline.services.bus.attach(name, listener)
    return listener


def publish(pipeline: Pipeline, topic: str, message) -> str:
    encoded = encode(message, run_id="test", correlation_id="test", producer="test")
    return pipeline.services.bus.publish(topic, encoded.data, encoded.attributes)


def phase4_completion(pipeline: Pipeline, day: date = DAY) -> PrecomputeCompleted:
    documents = pipeline.services.documents
    players = pipeline.services.warehouse.query(
        f"SELECT COUNT(DISTINCT player_id) AS n FROM nba_precompute.{FEATURES} WHERE game_date = @d", {"d": day})
    return PrecomputeCompleted(analysis_date=day, players_ready=players[0]["n"],
                               data_version=data_versions.current_version(documents, FEATURES, day))


def prediction_rows(pipeline: Pipeline, day: date = DAY) -> Counter:
    """(player, market, system, model version, batch) → rows: each must be 1."""
    rows = pipeline.services.warehouse.query(
        f"SELECT player_id, market, system, model_version, batch_id FROM {PLAYER_PROP_PREDICTIONS.qualified_name} "
        "WHERE game_date = @d", {"d": day})
    return Counter((r["player_id"], r["market"], r["system"], r["model_version"], r["batch_id"]) for r in rows)


def feature_players(pipeline: Pipeline, day: date = DAY) -> set[int]:
    rows = pipeline.services.warehouse.query(
        f"SELECT DISTINCT player_id FROM nba_precompute.{FEATURES} WHERE game_date = @d", {"d": day})
    return {int(r["player_id"]) for r in rows}


def batches(pipeline: Pipeline, day: date = DAY):
    return BatchLedger(pipeline.services.documents).batches(day)


def assert_each_player_predicted_once(pipeline: Pipeline, day: date = DAY) -> None:
    counts = prediction_rows(pipeline, day)
    assert counts and set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
    players = {key[0] for key in counts}
    assert players == feature_players(pipeline, day)
    per_player = Counter(key[0] for key in counts)
    assert len(set(per_player.values())) == 1  # every player has every (market, system)
