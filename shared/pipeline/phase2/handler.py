"""phase2_raw_processors: run the raw processor of the scraper a ScraperCompleted announces."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shared.contracts.messages import ScraperCompleted
from shared.pipeline.phase2.processors import PROCESSORS
from shared.pipeline.phase2.tables import RAW_TABLES
from shared.pipeline.processor import ProcessorOutcome, ensure_tables, processor_context, run_processor
from shared.runtime.errors import PermanentError

if TYPE_CHECKING:
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
    # Every raw table, not only this processor's own: the box-score processor reads the
    # registry and the schedule, which may not have been loaded yet.
    ensure_tables(fctx.services, list(PROCESSORS.values()), extra=RAW_TABLES)
    return run_processor(processor, processor_context(fctx, message.game_date, message))
