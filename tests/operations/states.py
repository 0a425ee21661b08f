"""Prepared states of an embedded home, shared by the operations and runbook tests."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from shared.config import Settings
from shared.pipeline.report import table_results
from shared.pipeline.runner import Pipeline, RunOptions
from shared.pipeline.tables import pipeline_tables
from shared.runtime.errors import TransientError


def settings_for(home: Path, **changes) -> Settings:
    return replace(Settings(home=home), **changes)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def backfill(home: Path, start: date, end: date, *, predictions: bool = False) -> None:
    """What `sportsflow backfill` does (history through Phase 4, predictions off by default)."""
    with Pipeline(settings_for(home, predictions_enabled=predictions), RunOptions()) as pipeline:
        for day in days(start, end):
            pipeline.run_date(day, checksums=False)


@contextmanager
def phase2_unavailable(monkeypatch) -> Iterator[None]:
    """Every Phase 2 load fails transiently (a warehouse outage, say): its triggers use up their
    deliveries and are dead-lettered by the bus after the subscription's max attempts."""
    from shared.pipeline.phase2 import processors

    def unavailable(ctx, scraper):
        raise TransientError("injected: the warehouse is unavailable")
    with monkeypatch.context() as patch:
        patch.setattr(processors, "read_payload", unavailable)
        yield


def home_with_dead_letters(home: Path, day: date, monkeypatch) -> None:
    """`day` scraped while Phase 2 was down: its five triggers are dead letters, the date is unfinished."""
    with phase2_unavailable(monkeypatch), Pipeline(settings_for(home, predictions_enabled=False),
                                                   RunOptions()) as pipeline:
        pipeline.run_date(day, checksums=False)


def checksums(home: Path, span: list[date]) -> dict[str, dict[str, tuple[int, str]]]:
    """Every pipeline table's rows and content checksum for each date of `span`."""
    from shared.adapters.local.warehouse import DuckDBWarehouse
    warehouse = DuckDBWarehouse(home / "warehouse.duckdb")
    try:
        return {day.isoformat(): {t.table: (t.rows, t.checksum) for t in table_results(warehouse, pipeline_tables(),
                                                                                       day)}
                for day in span}
    finally:
        warehouse.close()
