"""The predictions projection the API reads: one document per (date, player) with every market
and system, maintained by the workers (never a warehouse scan per request).

    predictions/{date}/players/{player_id}

A player's document only moves forward: a worker of an older batch (a lower generation) that
runs late never replaces a newer batch's predictions."""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping

from shared.ports.documents import DocumentStore


def player_path(day: date, player_id: int) -> str:
    return f"predictions/{day.isoformat()}/players/{player_id}"


def collection(day: date) -> str:
    return f"predictions/{day.isoformat()}/players"


def write_player(documents: DocumentStore, day: date, player_id: int, *, batch_id: str, generation: int,
                 header: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> bool:
    """True if written; False if a newer generation is already there."""
    markets: dict[str, dict[str, Any]] = {}
    for row in rows:
        markets.setdefault(row["market"], {})[row["system"]] = {
            "prediction": row["prediction"], "interval_low": row["interval_low"],
            "interval_high": row["interval_high"], "line": row["line"], "model_version": row["model_version"],
            "top_features": row["top_features"]}
    document = {**header, "game_date": day.isoformat(), "player_id": player_id, "batch_id": batch_id,
                "generation": generation, "markets": markets}
    path = player_path(day, player_id)

    def write(tx) -> bool:
        current = tx.get(path)
        if current is not None and int(current.data["generation"]) > generation:
            return False
        tx.set(path, {**document, "updated_at": documents.now()})
        return True

    return documents.run_transaction(write)


def read_player(documents: DocumentStore, day: date, player_id: int) -> dict[str, Any] | None:
    document = documents.get(player_path(day, player_id))
    return document.data if document else None


def read_date(documents: DocumentStore, day: date) -> list[dict[str, Any]]:
    return sorted((d.data for d in documents.query(collection(day))), key=lambda d: d["player_id"])
