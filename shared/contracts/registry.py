"""(message type, schema version) -> model. The only place that knows every contract."""
from __future__ import annotations

from shared.contracts import live, messages, validation
from shared.contracts.envelope import Message
from shared.executions.jobs import Job

MODELS: tuple[type[Message], ...] = (
    messages.ScraperCompleted,
    messages.RawProcessed,
    messages.AnalyticsTrigger,
    messages.AnalyticsCompleted,
    messages.PrecomputeTrigger,
    messages.PrecomputeProcessorCompleted,
    messages.PrecomputeCompleted,
    messages.PredictionRequest,
    messages.PredictionReady,
    messages.PredictionsCompleted,
    messages.DeadLetter,
    live.LiveProviderUpdate,
    Job,
    validation.GameFinal,
    validation.ValidationDecided,
)

_BY_KEY: dict[tuple[str, int], type[Message]] = {(m.MESSAGE_TYPE, m.SCHEMA_VERSION): m for m in MODELS}
_BY_NAME: dict[str, type[Message]] = {m.MESSAGE_TYPE: m for m in MODELS}


def model_for(message_type: str, schema_version: int) -> type[Message] | None:
    return _BY_KEY.get((message_type, schema_version))


def is_known_type(message_type: str) -> bool:
    return message_type in _BY_NAME


def known_versions(message_type: str) -> list[int]:
    return sorted(v for (t, v) in _BY_KEY if t == message_type)


def by_name(message_type: str) -> type[Message]:
    return _BY_NAME[message_type]
