"""Phase 2: one processor per scraper, turning the stored payload of a date into its raw table.

Each run reads the payload the ScraperCompleted names from the raw store (SHA-256
verified, `shared.pipeline.raw_payloads.read_raw_payload`), parses it with the scraper's payload
model and replaces the date's partition.
The run key is `<date>:<payload sha256>`: the same payload is processed once, a new payload
for the date replaces the partition. Box-score names are resolved to NBA person ids with
the player registry loaded for the date; rows that cannot be identified go to
nba_raw.player_identity_review instead, never guessed.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timezone
from typing import Any, ClassVar, Mapping, Sequence

from pydantic import ValidationError

from shared.contracts.envelope import Message
from shared.contracts.messages import RawProcessed, ScraperCompleted
from shared.identity import PlayerResolver, Resolution
from shared.pipeline import holds
from shared.pipeline.data_versions import Input
from shared.pipeline.phase2.tables import (
    INJURY_REPORT,
    PLAYER_BOXSCORES,
    PLAYER_IDENTITY_REVIEW,
    PLAYER_REGISTRY,
    PROP_LINES,
    SCHEDULE,
    TEAM_BOXSCORES,
)
from shared.pipeline.processor import (
    DataQualityError,
    Processor,
    ProcessorContext,
    ProcessorOutput,
)
from shared.pipeline.raw_payloads import read_raw_payload, stored_raw_payload
from shared.providers.payloads import (
    PAYLOADS,
    InjuryReport,
    Payload,
    PlayerBoxScore,
    PlayerBoxScores,
    PlayerRegistry,
    PropLines,
    Schedule,
    TeamBoxScores,
)
from shared.runtime.errors import PermanentError, TransientError

log = logging.getLogger("sportsflow.pipeline.phase2")

REGISTRY_SQL = f"""
SELECT person_id, full_name, is_active, team_abbr, as_of_date
FROM {PLAYER_REGISTRY.qualified_name}
WHERE as_of_date = (SELECT MAX(as_of_date) FROM {PLAYER_REGISTRY.qualified_name} WHERE as_of_date <= @d)
"""

GAME_IDS_SQL = f"""
SELECT 1 AS preference, game_id, home_team_abbr AS team_abbr FROM {SCHEDULE.qualified_name} WHERE game_date = @d
UNION ALL
SELECT 1 AS preference, game_id, away_team_abbr AS team_abbr FROM {SCHEDULE.qualified_name} WHERE game_date = @d
UNION ALL
SELECT 2 AS preference, game_id, team_abbr FROM {TEAM_BOXSCORES.qualified_name} WHERE game_date = @d
"""


# ---- reading the stored payload ---------------------------------------------------------------

def scraper_message(ctx: ProcessorContext) -> ScraperCompleted:
    if not isinstance(ctx.trigger, ScraperCompleted):
        raise PermanentError(f"a raw processor runs on a ScraperCompleted, got {type(ctx.trigger).__name__}")
    if not (ctx.trigger.payload_uri and ctx.trigger.payload_sha256):
        raise PermanentError(f"{ctx.trigger.scraper} {ctx.trigger.game_date}: a successful scrape "
                             "must name its stored payload (payload_uri and payload_sha256)")
    return ctx.trigger


def read_payload(ctx: ProcessorContext, scraper: str) -> Payload:
    """The payload the trigger names, read from the raw store and verified against the trigger's SHA-256."""
    message = scraper_message(ctx)
    data = read_raw_payload(ctx.services, message.payload_uri or "", message.payload_sha256)
    try:
        return PAYLOADS[scraper].model_validate_json(data)
    except ValidationError as err:
        raise DataQualityError(f"payload {message.payload_uri} is not a valid {scraper} payload: {err}") from None


def latest_registry(ctx: ProcessorContext) -> list[dict[str, Any]]:
    """The registry partition with the latest as_of_date ≤ D; TransientError while none is loaded."""
    rows = ctx.services.warehouse.query(REGISTRY_SQL, {"d": ctx.analysis_date})
    if not rows:
        raise TransientError(f"player registry for {ctx.analysis_date} not loaded yet")
    return rows


def reads_names_only_with_rows(processor: Processor, ctx: ProcessorContext) -> tuple[Input, ...]:
    """An empty payload resolves no names: the registry is not read (nor waited for)."""
    if scraper_message(ctx).records:
        return processor.reads
    return tuple(spec for spec in processor.reads if spec.processor != "raw_player_registry")


# ---- the processors ---------------------------------------------------------------------------

class RawProcessor(Processor):
    """A scraper's payload for date D → the raw table's partition D."""

    phase = 2
    completion_topic = "phase2-raw-complete"
    scraper: ClassVar[str]
    waits_for_inputs = True

    def provenance_extra(self, ctx: ProcessorContext) -> dict[str, str]:
        return {"payload_sha256": scraper_message(ctx).payload_sha256 or ""}

    def arrival_order(self, ctx: ProcessorContext) -> str | None:
        """When the payload was stored (the raw store's clock), then its hash: hourly scrapes
        of one date are applied in the order they were taken, whatever order they arrive in."""
        message = scraper_message(ctx)
        stored = stored_raw_payload(ctx.services, message.payload_uri or "")
        if stored is None:
            return None
        return f"{stored.created_at.astimezone(timezone.utc).isoformat()}|{message.payload_sha256}"

    def extract(self, ctx: ProcessorContext) -> Any:
        return read_payload(ctx, self.scraper)

    def provenance(self, ctx: ProcessorContext, payload: Payload) -> dict[str, str]:
        return {"source": payload.source, "payload_sha256": scraper_message(ctx).payload_sha256 or ""}

    def validate(self, ctx: ProcessorContext, rows: Sequence[Mapping[str, Any]]) -> None:
        partition = self.output.partition_field or ""
        stray = sorted({str(row[partition]) for row in rows if row[partition] != ctx.analysis_date})
        if stray:
            raise DataQualityError(f"{self.name}: the {ctx.analysis_date} payload holds rows for {stray}")

    def completion(self, ctx: ProcessorContext, records: int) -> Message:
        return RawProcessed(source_table=self.output.qualified_name, analysis_date=ctx.analysis_date,
                            processor_name=self.name, success=True, records_processed=records,
                            trigger_downstream=ctx.services.settings.phase3_trigger_enabled
                            and not holds.is_held(ctx.services.documents, ctx.analysis_date))


class RawSchedule(RawProcessor):
    name = "raw_schedule"
    scraper = "schedule"
    output = SCHEDULE

    def transform(self, ctx: ProcessorContext, extracted: Schedule) -> list[dict[str, Any]]:
        provenance = self.provenance(ctx, extracted)
        return [{**game.model_dump(), **provenance} for game in extracted.games]


class RawTeamBoxScores(RawProcessor):
    name = "raw_team_boxscores"
    scraper = "team_boxscores"
    output = TEAM_BOXSCORES

    def transform(self, ctx: ProcessorContext, extracted: TeamBoxScores) -> list[dict[str, Any]]:
        provenance = self.provenance(ctx, extracted)
        return [{**row.model_dump(), **provenance} for row in extracted.rows]


class RawPlayerRegistry(RawProcessor):
    name = "raw_player_registry"
    scraper = "player_registry"
    output = PLAYER_REGISTRY

    def transform(self, ctx: ProcessorContext, extracted: PlayerRegistry) -> list[dict[str, Any]]:
        provenance = self.provenance(ctx, extracted)
        return [{"as_of_date": ctx.analysis_date, **player.model_dump(), **provenance}
                for player in extracted.players]

    def validate(self, ctx: ProcessorContext, rows: Sequence[Mapping[str, Any]]) -> None:
        super().validate(ctx, rows)
        repeated = [pid for pid, n in Counter(row["person_id"] for row in rows).items() if n > 1]
        if repeated:
            raise DataQualityError(f"{self.name}: person ids listed twice on {ctx.analysis_date}: {repeated[:10]}")


@dataclass(frozen=True)
class BoxScoreInputs:
    payload: PlayerBoxScores
    registry: list[dict[str, Any]]
    game_ids: dict[str, str]  # team abbr → game id on D


class RawPlayerBoxScores(RawProcessor):
    name = "raw_player_boxscores"
    reads = (Input("raw_player_registry", "through"), Input("raw_schedule", optional=True),
             Input("raw_team_boxscores", optional=True))
    reads_for = reads_names_only_with_rows
    scraper = "player_boxscores"
    output = PLAYER_BOXSCORES
    review = PLAYER_IDENTITY_REVIEW

    def extract(self, ctx: ProcessorContext) -> BoxScoreInputs:
        payload = read_payload(ctx, self.scraper)
        if not payload.rows:  # no games on D: nothing to identify or attach
            return BoxScoreInputs(payload, [], {})
        return BoxScoreInputs(payload, latest_registry(ctx), self._game_ids(ctx))

    def _game_ids(self, ctx: ProcessorContext) -> dict[str, str]:
        rows = ctx.services.warehouse.query(GAME_IDS_SQL, {"d": ctx.analysis_date})
        if not rows:
            raise TransientError(f"schedule and team box scores for {ctx.analysis_date} not loaded yet")
        # The schedule (preference 1) wins over the team box scores where both name a team.
        return {row["team_abbr"]: row["game_id"]
                for row in sorted(rows, key=lambda row: row["preference"], reverse=True)}

    def transform(self, ctx: ProcessorContext, extracted: BoxScoreInputs) -> ProcessorOutput:
        resolver = PlayerResolver(extracted.registry)
        provenance = self.provenance(ctx, extracted.payload)
        resolutions = [resolver.resolve(row.player_name, row.team_abbr, ctx.analysis_date)
                       for row in extracted.payload.rows]
        resolutions = _refuse_shared_ids(resolutions)
        missing_games = sorted({row.team_abbr for row in extracted.payload.rows} - set(extracted.game_ids))
        if missing_games:
            raise DataQualityError(f"{self.name}: no game on {ctx.analysis_date} for team(s) {missing_games} "
                                   "in the schedule or team box scores")
        identified, quarantined = [], []
        for row, resolution in zip(extracted.payload.rows, resolutions):
            if resolution.resolved:
                identified.append(_boxscore_row(row, resolution, extracted.game_ids[row.team_abbr], provenance))
            else:
                quarantined.append(_review_row(row, resolution, provenance))
        self._log_outcome(ctx, resolutions)
        return ProcessorOutput(rows=identified, side_outputs={self.review: quarantined})

    def _log_outcome(self, ctx: ProcessorContext, resolutions: Sequence[Resolution]) -> None:
        methods = Counter(r.method for r in resolutions)
        log.info("players identified", extra={"fields": {
            "processor": self.name, "analysis_date": ctx.analysis_date.isoformat(), "rows": len(resolutions),
            "quarantined": methods["unknown"] + methods["ambiguous"], "methods": dict(methods)}})


def _refuse_shared_ids(resolutions: Sequence[Resolution]) -> list[Resolution]:
    """Two box-score rows of one date resolving to one person means a name went wrong: both are
    quarantined as ambiguous rather than either kept."""
    counts = Counter(r.person_id for r in resolutions if r.resolved)
    return [Resolution(None, "ambiguous", (r.person_id,), f"{counts[r.person_id]} rows of the date resolve "
                       f"to person {r.person_id}") if r.resolved and counts[r.person_id] > 1 else r
            for r in resolutions]


def _boxscore_row(row: PlayerBoxScore, resolution: Resolution, game_id: str,
                  provenance: Mapping[str, str]) -> dict[str, Any]:
    return {**row.model_dump(), "game_id": game_id, "player_id": resolution.person_id,
            "resolution_method": resolution.method, **provenance}


def _review_row(row: PlayerBoxScore, resolution: Resolution, provenance: Mapping[str, str]) -> dict[str, Any]:
    return {"game_date": row.game_date, "player_name": row.player_name, "team_abbr": row.team_abbr,
            "reason": resolution.method, "candidates": json.dumps(list(resolution.candidates)), **provenance}


class RawPropLines(RawProcessor):
    """Prop names are resolved where possible (player_id NULL otherwise) and counted, not
    quarantined: a line without an id is still a market, Phase 3 simply cannot join it."""

    name = "raw_prop_lines"
    reads = (Input("raw_player_registry", "through"),)
    reads_for = reads_names_only_with_rows
    scraper = "prop_lines"
    output = PROP_LINES

    def extract(self, ctx: ProcessorContext) -> tuple[PropLines, list[dict[str, Any]]]:
        payload = read_payload(ctx, self.scraper)
        return payload, (latest_registry(ctx) if payload.rows else [])

    def transform(self, ctx: ProcessorContext, extracted: tuple[PropLines, list[dict[str, Any]]]
                  ) -> list[dict[str, Any]]:
        payload, registry = extracted
        resolver = PlayerResolver(registry)
        ids = {name: resolver.resolve(name, None, ctx.analysis_date).person_id
               for name in {row.player_name for row in payload.rows}}
        unresolved = sorted(name for name, person_id in ids.items() if person_id is None)
        log.info("prop names identified", extra={"fields": {
            "processor": self.name, "analysis_date": ctx.analysis_date.isoformat(), "names": len(ids),
            "unresolved_names": len(unresolved), "unresolved": unresolved[:20]}})
        provenance = self.provenance(ctx, payload)
        return [{"game_date": ctx.analysis_date, **row.model_dump(), "player_id": ids[row.player_name],
                 **provenance} for row in payload.rows]


class RawInjuryReport(RawProcessor):
    """The injury report of D: one row per listed player (ids as the report gives them)."""

    name = "raw_injury_report"
    scraper = "injury_report"
    output = INJURY_REPORT

    def transform(self, ctx: ProcessorContext, extracted: InjuryReport) -> list[dict[str, Any]]:
        provenance = self.provenance(ctx, extracted)
        return [{"game_date": ctx.analysis_date, "player_id": player.person_id, "player_name": player.player_name,
                 "team_abbr": player.team_abbr, "status": player.status, "reason": player.reason, **provenance}
                for player in extracted.players]

    def validate(self, ctx: ProcessorContext, rows: Sequence[Mapping[str, Any]]) -> None:
        super().validate(ctx, rows)
        repeated = [pid for pid, n in Counter(row["player_id"] for row in rows).items() if n > 1]
        if repeated:
            raise DataQualityError(f"{self.name}: players listed twice on the {ctx.analysis_date} report: "
                                   f"{repeated[:10]}")


PROCESSORS: dict[str, RawProcessor] = {p.scraper: p for p in (
    RawSchedule(), RawPlayerBoxScores(), RawTeamBoxScores(), RawPlayerRegistry(), RawPropLines(),
    RawInjuryReport())}
