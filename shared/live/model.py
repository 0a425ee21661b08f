"""The stored match document and the provider update that changes it.

Every time is UTC Unix seconds (an int): `match_time` (scheduled kick-off, from the diary),
`provider_update_time` (the provider's own version stamp, from its payloads: invariant 11),
`last_event_ts` and `updated_at` (when *we* ingested the last accepted provider write, on the
store's clock: invariant 12), the three kickoff timestamps, `status_since_ts` (ingestion time of
the last status change), `last_minute_update_ts` (the minute engine's last write).
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.live import LiveProviderUpdate, MatchId, UpdateSource, known_status

COLLECTION = "live_matches"
UnixSeconds = int
__all__ = ["COLLECTION", "LiveProviderUpdate", "MatchState", "UpdateSource", "match_path"]


class MatchState(BaseModel):
    """One document of `live_matches/{match_id}`."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int = 1
    match_id: str = MatchId
    competition: str = ""
    home_team: str = ""
    away_team: str = ""
    match_time: UnixSeconds
    diary_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="UTC date of match_time")
    cup: bool = False
    status_id: int = 1
    home_score: int = 0
    away_score: int = 0
    provider_update_time: UnixSeconds | None = None
    last_event_ts: UnixSeconds | None = None
    updated_at: UnixSeconds | None = None
    status_since_ts: UnixSeconds | None = None
    first_half_kickoff_ts: UnixSeconds | None = None
    second_half_kickoff_ts: UnixSeconds | None = None
    overtime_kickoff_ts: UnixSeconds | None = None
    minute: int | None = None
    minute_text: str = "NS"
    last_minute_update_ts: UnixSeconds | None = None
    created_at: UnixSeconds

    @field_validator("status_id")
    @classmethod
    def _status_is_known(cls, status_id: int) -> int:
        return known_status(status_id)

    @property
    def path(self) -> str:
        return match_path(self.match_id)


def match_path(match_id: str) -> str:
    return f"{COLLECTION}/{match_id}"
