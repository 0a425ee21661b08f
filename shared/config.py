"""Runtime settings: which adapter family, where embedded state lives, which project.

Read from the environment (SPORTSFLOW_*), overridable by CLI flags. The emulator backend
reads the endpoints that `sportsflow emulators up` wrote to `<home>/emulators.env`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Mapping

Backend = Literal["local", "emulator", "gcp"]
BACKENDS: tuple[Backend, ...] = ("local", "emulator", "gcp")
DEFAULT_PROJECT = "sportsflow-local"


class ConfigError(Exception):
    """Settings that cannot work; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    backend: Backend = "local"
    home: Path = Path(".sportsflow")
    project: str = DEFAULT_PROJECT
    evidence_bucket: str = "sportsflow-evidence"
    raw_bucket: str = "sportsflow-raw"
    provider_url: str | None = None
    phase3_trigger_enabled: bool = True
    predictions_enabled: bool = True
    fixtures_provider_url: str | None = None
    notifier: str = "log"  # log | webhook | email (shared.adapters.notifiers)
    notify_webhook_url: str | None = None
    notify_email_to: str = "admins@sportsflow.local"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        backend = overrides.pop("backend", None) or env.get("SPORTSFLOW_BACKEND", "local")
        if backend not in BACKENDS:
            raise ConfigError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
        settings = cls(
            backend=backend,
            home=Path(env.get("SPORTSFLOW_HOME", ".sportsflow")),
            project=env.get("GOOGLE_CLOUD_PROJECT", DEFAULT_PROJECT),
            evidence_bucket=env.get("SPORTSFLOW_EVIDENCE_BUCKET", "sportsflow-evidence"),
            raw_bucket=env.get("SPORTSFLOW_RAW_BUCKET", "sportsflow-raw"),
            provider_url=env.get("SPORTSFLOW_PROVIDER_URL") or None,
            # Off during backfills: Phase 2 loads raw tables without triggering Phase 3.
            phase3_trigger_enabled=env.get("SPORTSFLOW_PHASE3_TRIGGER", "on").lower() not in ("off", "0", "false"),
            # Off during backfills of history: Phase 4's completion does not fan predictions out.
            predictions_enabled=env.get("SPORTSFLOW_PREDICTIONS", "on").lower() not in ("off", "0", "false"),
            fixtures_provider_url=env.get("SPORTSFLOW_FIXTURES_PROVIDER_URL") or None,
            notifier=env.get("SPORTSFLOW_NOTIFIER", "log"),
            notify_webhook_url=env.get("SPORTSFLOW_NOTIFY_WEBHOOK_URL") or None,
            notify_email_to=env.get("SPORTSFLOW_NOTIFY_EMAIL_TO", "admins@sportsflow.local"),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def emulator_env_file(self) -> Path:
        return self.home / "emulators.env"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (the format `sportsflow emulators up` writes)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def emulator_environment(settings: Settings) -> dict[str, str]:
    """The endpoints of running emulators, or a ConfigError saying how to start them."""
    path = Path(os.environ.get("SPORTSFLOW_EMULATOR_ENV", settings.emulator_env_file))
    if not path.exists():
        raise ConfigError(f"no emulator endpoints at {path}: run `sportsflow emulators up` first "
                          f"(with the same SPORTSFLOW_HOME)")
    return read_env_file(path)


@dataclass(frozen=True)
class EmulatorEndpoints:
    """Where one home's emulators listen, handed to each client explicitly (never exported into
    os.environ: two homes in one process must not see each other's endpoints)."""
    project: str
    pubsub: str | None = None  # host:port (gRPC, plaintext)
    firestore: str | None = None  # host:port (gRPC, plaintext)
    bigquery: str | None = None  # http://host:port
    storage: str | None = None  # http://host:port

    @classmethod
    def of(cls, env: Mapping[str, str], *, project: str) -> "EmulatorEndpoints":
        """From the variables `sportsflow emulators up` writes (`emulators.env`)."""
        return cls(project=env.get("GOOGLE_CLOUD_PROJECT") or project,
                   pubsub=env.get("PUBSUB_EMULATOR_HOST") or None,
                   firestore=env.get("FIRESTORE_EMULATOR_HOST") or None,
                   bigquery=env.get("BIGQUERY_EMULATOR_HOST") or None,
                   storage=env.get("STORAGE_EMULATOR_HOST") or None)


def emulator_endpoints(settings: Settings) -> EmulatorEndpoints:
    """The running emulators of `settings.home`, or a ConfigError. Their project is the one the
    harness wrote unless the settings name another than the default."""
    env = emulator_environment(settings)
    if settings.project != DEFAULT_PROJECT:
        env = {**env, "GOOGLE_CLOUD_PROJECT": settings.project}
    return EmulatorEndpoints.of(env, project=settings.project)
