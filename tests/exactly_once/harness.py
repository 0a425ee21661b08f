"""What the exactly-once tests share: a pipeline on the embedded backend in a fresh home,
injectors that fire at chosen crash points, and counts of what each run did."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from shared.config import Settings
from shared.pipeline.run_history import RUN_HISTORY_TABLE
from shared.pipeline.runner import Pipeline, RunOptions
from shared.runtime import crash_points

DAY = date(2025, 1, 15)


@dataclass
class FireAt:
    """Fire `point` (crash_points.fire, or `action`) when `when(context)` holds, `times` times."""
    point: str
    when: Callable[[dict[str, Any]], bool] = lambda context: True
    times: int = 1
    action: Callable[[str, dict[str, Any]], None] | None = None
    fired: int = 0
    seen: list = field(default_factory=list)

    def at(self, point: str, context: dict[str, Any]) -> None:
        if point != self.point or not self.when(context) or self.fired >= self.times:
            return
        self.fired += 1
        self.seen.append(dict(context))
        (self.action or crash_points.fire)(point, context)


def for_processor(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda context: context.get("processor") == name


def for_target(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda context: context.get("target") == name


def open_pipeline(home, *, source: str = "synthetic", chaos_seed: int | None = None, **settings) -> Pipeline:
    return Pipeline(Settings(home=home, **settings), RunOptions(source=source, chaos_seed=chaos_seed))


def run_with(pipeline: Pipeline, injector, day: date = DAY):
    """run_date with `injector` installed at the crash points (and nothing else injected)."""
    pipeline.crashes = injector
    try:
        return pipeline.run_date(day)
    finally:
        pipeline.crashes = None


def successes(pipeline: Pipeline, day: date = DAY) -> Counter:
    """processor → how many runs succeeded for `day` (ops.processor_run_history)."""
    rows = pipeline.services.warehouse.query(
        f"SELECT processor, status FROM {RUN_HISTORY_TABLE.qualified_name} WHERE analysis_date = @d", {"d": day})
    return Counter(row["processor"] for row in rows if row["status"] == "succeeded")


def checksums(report) -> dict[str, tuple[int, str]]:
    return {t.table: (t.rows, t.checksum) for t in report.tables}
