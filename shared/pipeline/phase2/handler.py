"""phase2_raw_processors: run the raw processor of the scraper a ScraperCompleted announces."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shared.contracts.messages import ScraperCompleted
from shared.pipeline.phase2.processors import PROCESSORS
from shared.pipeline.phase2.tables import RAW_TABLES
from shared.pipeline.processor import ProcessorOutcome, processor_context, run_processor
from shared.pipeline.run_history import RUN_HISTORY_TABLE
from shared.runtime.errors import PermanentError

if TYPE_CHECKING:
    from shared.bootstrap import Services
    from shared.runtime.context import FunctionContext

log = logging.getLogger("sportsflow.pipeline.phase2")


def handle_scraper_completed(message: ScraperCompleted, fctx: "FunctionContext") -> ProcessorOutcome | None:
    """A failed scrape stored nothing: logged and acknowledged. Otherwise the scraper's
    processor loads the payload into its raw table for the scrape's date."""
    if not message.success:
        log.warning("scrape failed; nothing to process", extra={"fields": {
            "scraper": message.scraper, "game_date": message.game_date.isoformat(), "error": message.error}})
        return None
    processor = PROCESSORS.get(message.scraper)
    if processor is None:
        raise PermanentError(f"no raw processor for scraper {message.scraper!r}; known: {sorted(PROCESSORS)}")
    ensure_raw_tables(fctx.services)
    return run_processor(processor, processor_context(fctx, message.game_date, message))


def ensure_raw_tables(services: "Services") -> None:
    """Every raw table, not only the processor's own: the box-score processor reads the
    registry and the schedule, which may not have been loaded yet."""
    warehouse = services.warehouse
    for spec in (*RAW_TABLES, RUN_HISTORY_TABLE):
        warehouse.ensure_dataset(spec.dataset)
        warehouse.ensure_table(spec)
