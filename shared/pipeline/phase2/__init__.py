"""Phase 2, raw processing (SPEC §1): each scraper's stored payload → its nba_raw table, by date."""
from __future__ import annotations

from shared.pipeline.phase2.handler import handle_scraper_completed
from shared.pipeline.phase2.processors import PROCESSORS, RawProcessor

__all__ = ["PROCESSORS", "RawProcessor", "handle_scraper_completed"]
