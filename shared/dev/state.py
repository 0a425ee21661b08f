"""`$SPORTSFLOW_HOME/dev.json`: what `sportsflow dev up` started, for `status`, `logs` and `down`.

Every process is recorded with its pid, command and log (so `down` stops exactly it, by pid, and a
reused pid is never mistaken for ours); every subscription with its push endpoint (without the
token); the emulators `dev up` itself started (`down` stops only those).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "dev.json"


@dataclass(frozen=True)
class DevProcess:
    name: str  # a function name, or "provider", "clock", "dead-letter-sink"
    kind: str  # function | provider | clock | dead_letter_sink
    pid: int
    port: int | None
    argv: list[str]
    log: str
    started_at: float
    startup_seconds: float = 0.0

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None


@dataclass(frozen=True)
class DevSubscription:
    name: str
    topic: str
    function: str | None  # None: a pull subscription (dead-letter sink, or a function not running)
    push_endpoint: str | None
    dead_letter_topic: str | None
    max_delivery_attempts: int


@dataclass
class DevState:
    home: str
    project: str
    source: str
    started_at: float
    startup_seconds: float = 0.0
    emulators_started: list[str] = field(default_factory=list)
    processes: list[DevProcess] = field(default_factory=list)
    subscriptions: list[DevSubscription] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # dates triggered with `dev trigger`, newest last

    @staticmethod
    def path(home: Path) -> Path:
        return Path(home) / STATE_FILE

    @classmethod
    def load(cls, home: Path) -> "DevState | None":
        try:
            raw = json.loads(cls.path(home).read_text())
        except (OSError, ValueError):
            return None
        raw["processes"] = [DevProcess(**p) for p in raw.get("processes", [])]
        raw["subscriptions"] = [DevSubscription(**s) for s in raw.get("subscriptions", [])]
        return cls(**raw)

    def save(self) -> None:
        path = self.path(Path(self.home))
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_text(json.dumps(asdict(self), indent=1))
        draft.replace(path)  # atomic: the clock reads it while `up` writes it

    def function_urls(self) -> dict[str, str]:
        return {p.name: p.url for p in self.processes if p.kind == "function" and p.url}

    def process(self, name: str) -> DevProcess | None:
        return next((p for p in self.processes if p.name == name), None)
