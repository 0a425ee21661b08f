"""Local stand-ins for Google Cloud (and S3) on free loopback ports.

    env = start_emulators(Settings.from_env(), only=["pubsub", "firestore"])
    ...
    stop_emulators(Settings.from_env())

The same as `sportsflow emulators up|down|status|setup`. Endpoints land in
`$SPORTSFLOW_HOME/emulators.env`, which the `emulators` test fixture reads.
"""
from shared.emulators.bqemulator_venv import BqEmulatorTools, ToolSetupError
from shared.emulators.harness import (
    EmulatorStartError, EmulatorStatus, emulator_status, select_services, start_emulators, stop_emulators,
)
from shared.emulators.services import SERVICES, EmulatorService, EmulatorUnavailable, Launch

__all__ = [
    "SERVICES", "BqEmulatorTools", "EmulatorService", "EmulatorStartError", "EmulatorStatus",
    "EmulatorUnavailable", "Launch", "ToolSetupError", "emulator_status", "select_services",
    "start_emulators", "stop_emulators",
]
