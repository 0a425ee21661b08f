"""Which model versions predict a date, and one loaded ModelSet per instance (workers load a
version once and keep it; a batch names the versions every one of its predictions uses)."""
from __future__ import annotations

import threading
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.bootstrap import Services
    from shared.predictions.systems.model_set import ModelSet

_cache: dict[tuple[tuple[str, str], ...], "ModelSet"] = {}
_lock = threading.Lock()
CACHE_SIZE = 4


def versions_for_date(services: "Services", day: date) -> dict[str, str]:
    """system → the stored version to predict `day` with: the current one when it was trained on
    outcomes before `day`, else the newest trained before it (no look-ahead). Systems without
    such a version are absent (the ModelSet falls back to its documented defaults)."""
    from shared.predictions import model_registry
    from shared.predictions.systems import SYSTEMS

    current = model_registry.current_versions(services)
    chosen: dict[str, str] = {}
    for system in SYSTEMS:
        versions = model_registry.list_versions(services, system)
        through = {v["version"]: v["through"] for v in versions}
        if system in current and through.get(current[system], "9999") < day.isoformat():
            chosen[system] = current[system]
            continue
        earlier = [v for v in versions if v["through"] < day.isoformat()]
        if earlier:
            chosen[system] = max(earlier, key=lambda v: (v["through"], v["created_at"]))["version"]
    return chosen


def model_set(services: "Services", stored_versions: dict[str, str]) -> "ModelSet":
    """The ModelSet of these stored versions, loaded once per process."""
    from shared.predictions import model_registry

    key = tuple(sorted(stored_versions.items()))
    with _lock:
        if key in _cache:
            return _cache[key]
    loaded = model_registry.load_versions(services, dict(stored_versions))
    with _lock:
        if len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = loaded
    return loaded


def clear_cache() -> None:
    with _lock:
        _cache.clear()
