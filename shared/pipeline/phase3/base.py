"""What the Phase 3 and Phase 4 processors share: one SQL query does the set work (joins,
windows, aggregates) for the analysis date, then each result row becomes an output row
through the pure formulas of shared.pipeline.formulas."""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from shared.contracts.envelope import Message
from shared.contracts.messages import AnalyticsCompleted
from shared.pipeline.formulas import season_start
from shared.pipeline.processor import DataQualityError, Processor, ProcessorContext


class QueryProcessor(Processor):
    """A processor whose inputs are one warehouse query with @d (the analysis date) and
    @season_start (first day of D's season)."""

    sql: ClassVar[str]
    key_fields: ClassVar[tuple[str, ...]]  # unique per row; also the output order

    def query_params(self, ctx: ProcessorContext) -> dict[str, Any]:
        return {"d": ctx.analysis_date, "season_start": season_start(ctx.analysis_date)}

    def extract(self, ctx: ProcessorContext) -> list[dict[str, Any]]:
        return ctx.services.warehouse.query(self.sql, self.query_params(ctx))

    def transform(self, ctx: ProcessorContext, extracted: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = [self.output_row(ctx, row) for row in extracted]
        return sorted(rows, key=lambda row: tuple(_sortable(row[k]) for k in self.key_fields))

    @abstractmethod
    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        """Pure: one query row → one output row."""

    def validate(self, ctx: ProcessorContext, rows: Sequence[Mapping[str, Any]]) -> None:
        seen: set[tuple] = set()
        for row in rows:
            key = tuple(row[k] for k in self.key_fields)
            if key in seen:
                raise DataQualityError(f"{self.name}: duplicate row for {dict(zip(self.key_fields, key))} "
                                       f"on {ctx.analysis_date}")
            seen.add(key)


class AnalyticsProcessor(QueryProcessor):
    phase = 3
    completion_topic = "phase3-analytics-complete"

    def completion(self, ctx: ProcessorContext, records: int) -> Message:
        return AnalyticsCompleted(processor_name=self.name, analysis_date=ctx.analysis_date,
                                  records_processed=records, success=True)


def _sortable(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else 0)
