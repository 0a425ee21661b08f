"""What the harness remembers between commands: the state file and the env file.

Under `$SPORTSFLOW_HOME`: `emulators/state.json` (pid, ports, command, log, timings per
running service; `down` and `status` read it), `emulators/<service>.log`, and
`emulators.env` (KEY=VALUE endpoints that tests and tools read, see shared/config.py).
"""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from shared.config import Settings


@dataclass(frozen=True)
class RunningEmulator:
    service: str
    pid: int
    ports: list[int]
    endpoint: str
    probe_url: str
    argv: list[str]
    log: str
    started_at: float  # epoch seconds
    startup_seconds: float  # from launch until the probe first answered
    exports: dict[str, str]


@dataclass(frozen=True)
class EmulatorFiles:
    settings: Settings

    @property
    def directory(self) -> Path:
        return (self.settings.home / "emulators").resolve()  # absolute: recorded log paths outlive the cwd

    @property
    def state(self) -> Path:
        return self.directory / "state.json"

    @property
    def env(self) -> Path:
        return self.settings.emulator_env_file

    def log(self, service: str) -> Path:
        return self.directory / f"{service}.log"

    def load(self) -> dict[str, RunningEmulator]:
        if not self.state.exists():
            return {}
        raw = json.loads(self.state.read_text())
        return {name: RunningEmulator(**record) for name, record in raw["services"].items()}

    def save(self, running: dict[str, RunningEmulator]) -> None:
        """Write state and env file for what runs; remove both when nothing does."""
        if not running:
            self.state.unlink(missing_ok=True)
            self.env.unlink(missing_ok=True)
            return
        _write_atomically(self.state, json.dumps(
            {"project": self.settings.project, "services": {n: asdict(r) for n, r in running.items()}}, indent=2))
        _write_atomically(self.env, render_env_file(self.settings.project, running))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise up/down across processes so two commands never race on the same home."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def render_env_file(project: str, running: dict[str, RunningEmulator]) -> str:
    lines = ["# Written by `sportsflow emulators up`; removed by `sportsflow emulators down`.",
             f"GOOGLE_CLOUD_PROJECT={project}"]
    for name in sorted(running):
        lines.extend(f"{key}={value}" for key, value in running[name].exports.items())
    return "\n".join(lines) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)
