"""`--chaos SEED`: duplicates, reordering, lost acks, transient failures and every crash point,
followed by the reconciler, leave exactly the tables, triggers and run counts of a clean run —
for every seed. Across the seeds every crash point really fires."""
from __future__ import annotations

from collections import Counter

import pytest

from shared.runtime import crash_points
from tests.exactly_once.harness import DAY, checksums, open_pipeline, successes

SEEDS = range(1, 11)
fired: Counter = Counter()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    with open_pipeline(tmp_path_factory.mktemp("clean")) as pipeline:
        report = pipeline.run_date(DAY)
        return checksums(report), report.triggers, successes(pipeline)


@pytest.mark.parametrize("seed", SEEDS)
def test_chaos_equals_clean(tmp_path, clean, seed):
    tables, triggers, runs = clean
    with open_pipeline(tmp_path, chaos_seed=seed) as pipeline:
        report = pipeline.run_date(DAY)
        assert report.finished, report.missing
        assert checksums(report) == tables
        assert report.triggers == triggers
        assert successes(pipeline) == runs, "an effect happened twice, or not at all"
        assert all(letter["redriven"] for letter in report.dead_letters)
        assert report.stale == {}
        fired.update({k.removeprefix("crash_"): v for k, v in report.faults.items() if k.startswith("crash_")})


def test_every_crash_point_fired_across_the_seeds():
    if len(fired) == 0:
        pytest.skip("run together with test_chaos_equals_clean")
    assert set(fired) == set(crash_points.POINTS), f"never fired: {set(crash_points.POINTS) - set(fired)}"
