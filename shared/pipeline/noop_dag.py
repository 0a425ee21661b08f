"""A no-op DAG of the Phase 3–4 shape on the real exactly-once machinery, for benchmarks.

Five independent "analytics" processors, then five "precompute" processors: the first reads
all five, each next one reads the one before. Every task computes nothing and writes no rows,
but runs through `run_processor` as a real one does: provenance from the data versions, the
fenced run lease and its heartbeat, the decision document, the data version, the announced
completion (encoded as an envelope) and the ops.processor_run_history row (flushed in one
warehouse transaction after the DAG, as the pipeline flushes after a delivery).

    with NoopDag(home) as dag:
        dag.run(date(2030, 1, 1))   # one DAG run: 10 tasks
"""
from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.codec import encode
from shared.contracts.envelope import Message
from shared.contracts.messages import AnalyticsCompleted
from shared.pipeline import run_history
from shared.pipeline.data_versions import Input
from shared.pipeline.processor import Processor, ProcessorContext, ProcessorOutput, ensure_tables, run_processor
from shared.ports.warehouse import FieldSpec, TableSpec

TASKS_PER_DAG = 10
_OUTPUT = TableSpec(dataset="bench", name="noop", partition_field="analysis_date",
                    fields=(FieldSpec("analysis_date", "DATE", "REQUIRED"),))


class _NoopProcessor(Processor):
    phase: ClassVar[int] = 3
    output: ClassVar[TableSpec] = _OUTPUT
    completion_topic: ClassVar[str] = "bench-noop-complete"

    def extract(self, ctx: ProcessorContext) -> Any:
        return None

    def transform(self, ctx: ProcessorContext, extracted: Any) -> list[dict[str, Any]]:
        return []

    def load(self, ctx: ProcessorContext, output: ProcessorOutput) -> int:
        return 0  # a no-op writes no table: only the bookkeeping is measured

    def completion(self, ctx: ProcessorContext, records: int) -> Message:
        return AnalyticsCompleted(processor_name=self.name, analysis_date=ctx.analysis_date,
                                  records_processed=records, success=True)


def _processor(name: str, reads: tuple[Input, ...]) -> _NoopProcessor:
    return type(name, (_NoopProcessor,), {"name": name, "reads": reads})()


def noop_processors() -> list[Processor]:
    """The ten tasks in a topological order."""
    analytics = [_processor(f"noop_analytics_{i}", ()) for i in range(1, 6)]
    precompute, previous = [], tuple(Input(p.name) for p in analytics)
    for i in range(1, 6):
        task = _processor(f"noop_precompute_{i}", previous)
        precompute.append(task)
        previous = (Input(task.name),)
    return analytics + precompute


class NoopDag:
    """The DAG on an embedded home (SQLite documents, DuckDB warehouse)."""

    def __init__(self, home: Path) -> None:
        self.services = Services(Settings(home=Path(home)))
        self.processors = noop_processors()
        self.published: list[bytes] = []

    def __enter__(self) -> "NoopDag":
        ensure_tables(self.services, self.processors)
        return self

    def __exit__(self, *exc: object) -> None:
        self.services.close()

    def run(self, day: date) -> list[str]:
        """Every task once for `day`; returns each task's status ("succeeded", or "skipped" when
        the day already ran)."""
        run_id, correlation_id = uuid.uuid4().hex, f"bench-{day.isoformat()}"
        statuses = [run_processor(p, self._context(day, run_id, correlation_id)).status for p in self.processors]
        run_history.flush_attempts(self.services.documents, self.services.warehouse)
        return statuses

    def _context(self, day: date, run_id: str, correlation_id: str) -> ProcessorContext:
        def publish(topic: str, message: Message) -> None:
            self.published.append(encode(message, run_id=run_id, correlation_id=correlation_id,
                                         producer="bench").data)
        return ProcessorContext(services=self.services, analysis_date=day, run_id=run_id,
                                correlation_id=correlation_id, publish=publish, message_id=f"{run_id}-{day}")
