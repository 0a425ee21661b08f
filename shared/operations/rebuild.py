"""Rebuild the warehouse from the stored raw payloads alone (the raw evidence is the source of truth).

Every raw provider payload Phase 1 stored (`raw/{scraper}/{date}/{sha256}.json`) is read back,
the latest of each scraper and date, and replayed into a fresh home in date order, scrapers in
the order a run scrapes them: each payload is stored there under the same key and its
`ScraperCompleted` published, so the deployed functions derive Phases 2–4 exactly as the
original run did. Nothing of the original's documents or warehouse is read to rebuild; the
original warehouse is read only afterwards, to compare every table's checksum per date.

Raw payloads live in the raw store (`services.raw_payloads`, the raw bucket on gcp) and are
read through `shared.pipeline.raw_payloads` only, as Phase 2 reads them: verified against
their content-addressed keys.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable

from shared.config import Settings
from shared.contracts.messages import ScraperCompleted
from shared.pipeline.phase1 import TOPIC, record_count
from shared.pipeline.raw_payloads import RAW_PREFIX, list_raw_payloads, read_raw_payload
from shared.providers.payloads import PAYLOADS

if TYPE_CHECKING:
    from shared.bootstrap import Services

log = logging.getLogger("sportsflow.operations.rebuild")


@dataclass(frozen=True)
class RawPayload:
    key: str
    scraper: str
    day: date
    sha256: str
    data: bytes
    created_at: datetime

    def completion(self) -> ScraperCompleted:
        """The announcement Phase 1 published for this payload."""
        payload = PAYLOADS[self.scraper].model_validate_json(self.data)
        return ScraperCompleted(scraper=self.scraper, game_date=self.day, success=True, payload_uri=self.key,
                                payload_sha256=self.sha256, records=record_count(payload),
                                source=payload.source.split(":", 1)[0])


def read_raw_payloads(services: "Services", start: date | None = None, end: date | None = None
                      ) -> dict[date, dict[str, RawPayload]]:
    """The latest stored raw payload of each scraper and date (within start..end), verified."""
    latest: dict[date, dict[str, Any]] = {}
    for obj in list_raw_payloads(services):
        parts = obj.key.split("/")
        if len(parts) != 4 or parts[0] != RAW_PREFIX or parts[1] not in PAYLOADS:
            continue
        day = date.fromisoformat(parts[2])
        if (start and day < start) or (end and day > end):
            continue
        kept = latest.setdefault(day, {}).get(parts[1])
        if kept is None or (obj.created_at, obj.key) > (kept.created_at, kept.key):
            latest[day][parts[1]] = obj
    return {day: {scraper: RawPayload(obj.key, scraper, day, obj.sha256,
                                      read_raw_payload(services, obj.key, obj.sha256), obj.created_at)
                  for scraper, obj in by_scraper.items()}
            for day, by_scraper in sorted(latest.items())}


@dataclass
class RebuildReport:
    into: str
    dates: list[str] = field(default_factory=list)
    payloads: int = 0
    unfinished: list[str] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)
    tables_compared: int = 0
    duration_s: float = 0.0

    @property
    def equal(self) -> bool:
        return not self.differences and not self.unfinished

    def as_json(self) -> dict[str, Any]:
        return {"into": self.into, "dates": self.dates, "payloads": self.payloads, "unfinished": self.unfinished,
                "tables_compared": self.tables_compared, "equal": self.equal, "differences": self.differences,
                "duration_s": round(self.duration_s, 2)}


def rebuild_from_evidence(source: Settings, into: Settings, *, start: date | None = None, end: date | None = None,
                          progress: Callable[[str], None] = lambda message: None) -> RebuildReport:
    """Re-derive the warehouse of `source` into the fresh home `into` from raw payloads alone,
    then compare every pipeline table per date with the original's."""
    import time

    from shared.bootstrap import Services
    from shared.pipeline.runner import SCRAPE_ORDER, Pipeline, RunOptions

    began = time.monotonic()
    if into.home.exists() and any(into.home.iterdir()):
        raise FileExistsError(f"{into.home} is not empty: rebuild into a fresh home (the original is never touched)")
    original = Services(source)
    try:
        payloads = read_raw_payloads(original, start, end)
    finally:
        original.close()
    report = RebuildReport(into=str(into.home), dates=[d.isoformat() for d in payloads],
                           payloads=sum(len(p) for p in payloads.values()))
    target_settings = replace(into, predictions_enabled=False, phase3_trigger_enabled=True)
    with Pipeline(target_settings, RunOptions()) as pipeline:
        for day, by_scraper in payloads.items():
            progress(f"rebuilding {day} from {len(by_scraper)} raw payloads")
            with pipeline.delivering():
                for scraper in SCRAPE_ORDER:
                    if scraper in by_scraper:
                        _replay_payload(pipeline, by_scraper[scraper])
            if not pipeline.is_finished(day):
                report.unfinished.append(day.isoformat())
    report.differences, report.tables_compared = compare_warehouses(source, target_settings, list(payloads))
    report.duration_s = time.monotonic() - began
    log.info("warehouse rebuilt from evidence", extra={"fields": report.as_json()})
    return report


def _replay_payload(pipeline, payload: RawPayload) -> None:
    from shared.contracts.codec import encode
    from shared.contracts.envelope import new_id

    pipeline.services.raw_payloads.put(payload.key, payload.data)
    encoded = encode(payload.completion(), run_id=new_id(), correlation_id=f"rebuild-{payload.day.isoformat()}",
                     producer="rebuild")
    pipeline.services.bus.publish(TOPIC, encoded.data, encoded.attributes)


def compare_warehouses(a: Settings, b: Settings, days: list[date]) -> tuple[list[dict[str, Any]], int]:
    """Every pipeline table's rows and checksum per date, in two homes: what differs, and how many compared.
    Predictions are left out (a rebuild derives the warehouse through Phase 4, like a backfill)."""
    from shared.bootstrap import Services
    from shared.pipeline.report import table_results
    from shared.pipeline.tables import pipeline_tables
    from shared.predictions.tables import PLAYER_PROP_PREDICTIONS

    specs = [spec for spec in pipeline_tables() if spec != PLAYER_PROP_PREDICTIONS]
    differences, compared = [], 0
    left, right = Services(a), Services(b)
    try:
        for day in days:
            ours = {t.table: t for t in table_results(left.warehouse, specs, day)}
            theirs = {t.table: t for t in table_results(right.warehouse, specs, day)}
            for table, result in ours.items():
                compared += 1
                other = theirs[table]
                if (result.rows, result.checksum) != (other.rows, other.checksum):
                    differences.append({"date": day.isoformat(), "table": table, "original_rows": result.rows,
                                        "rebuilt_rows": other.rows, "original_checksum": result.checksum,
                                        "rebuilt_checksum": other.checksum})
    finally:
        left.close()
        right.close()
    return differences, compared
