"""Live match state messages (SPEC §3): the provider update every ingestion path carries."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shared.contracts.envelope import Message

UnixSeconds = int
MatchId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
UpdateSource = Literal["mqtt", "detail_live", "data_update", "reconcile"]
KNOWN_STATUS_IDS = frozenset({1, 2, 3, 4, 5, 7, 8, 9, 10})


def known_status(status_id: int) -> int:
    if status_id not in KNOWN_STATUS_IDS:
        raise ValueError(f"unknown status_id {status_id}: the provider's ids are {sorted(KNOWN_STATUS_IDS)}")
    return status_id


class LiveProviderUpdate(Message):
    """live-provider-events: one provider event (an MQTT/WebSocket push, or one entry of a
    detail_live / data_update poll) for one match."""
    MESSAGE_TYPE = "LiveProviderUpdate"
    match_id: str = MatchId
    status_id: int
    provider_update_time: UnixSeconds = Field(ge=0, description="the provider's version stamp of this state")
    home_score: int = Field(default=0, ge=0)
    away_score: int = Field(default=0, ge=0)
    kickoff_ts: UnixSeconds | None = Field(
        default=None, ge=0, description="the provider's kick-off time of the current period, if it sends one")
    source: UpdateSource = "mqtt"

    @field_validator("status_id")
    @classmethod
    def _status_is_known(cls, status_id: int) -> int:
        return known_status(status_id)
