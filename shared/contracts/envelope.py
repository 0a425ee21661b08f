"""The envelope every message travels in, and the base of every versioned message model."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ENVELOPE_VERSION = 1


def new_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Message(BaseModel):
    """Base of every payload model. Subclasses set MESSAGE_TYPE and SCHEMA_VERSION.

    Extra fields are refused: a producer and consumer that disagree on the schema must
    bump SCHEMA_VERSION, not drift silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    MESSAGE_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1


class Envelope(BaseModel):
    """Transport metadata. `run_id` is the run of the producer that emitted the message;
    `correlation_id` follows one pipeline run (or request) across every hop."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    envelope_version: int = ENVELOPE_VERSION
    message_type: str = Field(min_length=1)
    schema_version: int = Field(ge=1)
    message_id: str = Field(default_factory=new_id, min_length=1)
    run_id: str = Field(min_length=1)
    correlation_id: str = Field(min_length=1)
    attempt: int = Field(default=1, ge=1)
    produced_at: AwareDatetime = Field(default_factory=utc_now)
    producer: str = ""
    payload: dict[str, Any]
