"""Payloads of SPEC §1, one versioned model per topic (see shared.topology.definition)."""
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, NonNegativeInt, ValidationInfo, field_validator

from shared.contracts.envelope import Message

Name = Field(min_length=1, max_length=128, pattern=r"^[a-z][a-z0-9_]*$")


class _Outcome(Message):
    success: bool
    error: str | None = Field(default=None, max_length=4000, validate_default=True)

    @field_validator("error")
    @classmethod
    def _failure_has_reason(cls, error: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("success") is False and not error:
            raise ValueError("a failed outcome needs an error saying why")
        return error


class _ProcessorOutcome(_Outcome):
    """A processor's completion. Optional fields added compatibly (a v1 producer omits them)."""
    data_version: str | None = Field(default=None, max_length=64,
                                     description="content hash of the rows the run wrote for the date")
    run_fence: NonNegativeInt = Field(default=0, description="the run's fencing token: later runs are higher")


class ScraperCompleted(_Outcome):
    """phase1-scrapers-complete: a scraper stored a raw payload for a date."""
    MESSAGE_TYPE = "ScraperCompleted"
    scraper: str = Name
    game_date: date
    payload_uri: str | None = None
    payload_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    records: NonNegativeInt = 0
    source: str = "synthetic"


class RawProcessed(_ProcessorOutcome):
    """phase2-raw-complete: a raw processor loaded a raw table for a date."""
    MESSAGE_TYPE = "RawProcessed"
    source_table: str = Field(min_length=1)
    analysis_date: date
    processor_name: str = Name
    records_processed: NonNegativeInt = 0
    trigger_downstream: bool = Field(default=True, description="False during backfills: Phase 3 is not triggered")


class AnalyticsCompleted(_ProcessorOutcome):
    """phase3-analytics-complete: one of the five Phase 3 processors finished a date."""
    MESSAGE_TYPE = "AnalyticsCompleted"
    processor_name: str = Name
    analysis_date: date
    records_processed: NonNegativeInt = 0


class _ProcessorTrigger(Message):
    analysis_date: date
    processor_names: tuple[str, ...] = Field(min_length=1)
    triggered_by: str = Field(min_length=1, description="orchestrator that claimed the trigger")
    claim_id: str = Field(min_length=1)


class AnalyticsTrigger(_ProcessorTrigger):
    """phase3-trigger: run these Phase 3 processors for a date (their raw inputs are loaded)."""
    MESSAGE_TYPE = "AnalyticsTrigger"


class PrecomputeTrigger(_ProcessorTrigger):
    """phase4-trigger: run these Phase 4 processors for a date (each claimed exactly once)."""
    MESSAGE_TYPE = "PrecomputeTrigger"


class PrecomputeProcessorCompleted(_ProcessorOutcome):
    """phase4-processor-complete: one Phase 4 processor finished a date."""
    MESSAGE_TYPE = "PrecomputeProcessorCompleted"
    processor_name: str = Name
    analysis_date: date
    records_processed: NonNegativeInt = 0


class PrecomputeCompleted(Message):
    """phase4-precompute-complete: ml_feature_store_v2 is ready for a date."""
    MESSAGE_TYPE = "PrecomputeCompleted"
    analysis_date: date
    players_ready: NonNegativeInt
    records_processed: NonNegativeInt = 0
    data_version: str | None = Field(default=None, max_length=64,
                                     description="data version of the date's ml_feature_store_v2 rows")
    claim_id: str | None = Field(default=None, max_length=64, description="the Phase 4 orchestrator's claim")


class PredictionRequest(Message):
    """prediction-request: predict one player for a date."""
    MESSAGE_TYPE = "PredictionRequest"
    game_date: date
    batch_id: str = Field(min_length=1)
    player_id: int = Field(gt=0)
    game_id: str = Field(min_length=1, max_length=64)
    prop_types: tuple[Literal["points", "rebounds", "assists", "threes"], ...] = ("points",)
    feature_data_version: str | None = Field(default=None, max_length=64,
                                             description="the ml_feature_store_v2 data version to predict from")
    generation: NonNegativeInt = Field(default=0, description="the batch's generation for the date")


class PredictionReady(_Outcome):
    """prediction-ready: one player's predictions are written."""
    MESSAGE_TYPE = "PredictionReady"
    game_date: date
    batch_id: str = Field(min_length=1)
    player_id: int = Field(gt=0)
    predictions_written: NonNegativeInt = 0
    superseded: bool = Field(default=False, description="the batch's inputs were replaced by newer ones")


class PredictionsCompleted(Message):
    """phase5-predictions-complete: the coordinator's fan-in reached every requested player."""
    MESSAGE_TYPE = "PredictionsCompleted"
    game_date: date
    batch_id: str = Field(min_length=1)
    players_requested: NonNegativeInt
    players_completed: NonNegativeInt
    coverage: float = Field(ge=0, le=1)
    claim_id: str | None = Field(default=None, max_length=64,
                                 description="the fan-in claim: a re-published completion carries the same one")


class DeadLetter(Message):
    """What the runtime publishes to `<topic>-dead-letter`: the original bytes and the reason."""
    MESSAGE_TYPE = "DeadLetter"
    source_topic: str
    function: str
    error_kind: str
    error_field: str = ""
    reason: str
    original_data_b64: str
    original_attributes: dict[str, str] = Field(default_factory=dict)
    delivery_attempt: int = 1
    details: dict[str, Any] = Field(default_factory=dict)
