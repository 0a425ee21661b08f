"""The emulator harness: fake services for its failure paths, the real emulators for the rest.

The emulator-marked tests start their own emulators in a temporary SPORTSFLOW_HOME (they
do not use the shared `emulators` fixture) and prove each endpoint answers a real client.
"""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from shared.config import Settings, read_env_file
from shared.emulators import (
    BqEmulatorTools, EmulatorService, EmulatorStartError, Launch, emulator_status, select_services,
    start_emulators, stop_emulators,
)
from shared.emulators.processes import group_members, is_running, spawn, stop_group
from shared.emulators.state import EmulatorFiles

CORE_SERVICES = ["pubsub", "firestore", "storage", "s3"]
LOOPBACK_ENDPOINT = {
    "PUBSUB_EMULATOR_HOST": r"127\.0\.0\.1:\d+",
    "FIRESTORE_EMULATOR_HOST": r"127\.0\.0\.1:\d+",
    "STORAGE_EMULATOR_HOST": r"http://127\.0\.0\.1:\d+",
    "AWS_ENDPOINT_URL_S3": r"http://127\.0\.0\.1:\d+",
}


def _settings(home: Path) -> Settings:
    return Settings.from_env(home=home, project="sportsflow-harness-test")


def _fake_service(name: str, shell: str, timeout: float = 10.0) -> EmulatorService:
    return EmulatorService(name=name, launch=lambda ports, project: Launch(["sh", "-c", shell]),
                           exports=lambda port: {"FAKE_HOST": f"127.0.0.1:{port}"}, probe_path="/",
                           startup_timeout=timeout)


def _wait_until_gone(pgid: int, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return group_members(pgid)


# --- failure paths, with fake services (fast, no emulator needed) ---------------------------

def test_unknown_service_names_are_refused():
    with pytest.raises(ValueError, match="unknown emulator.*bigtable"):
        select_services("pubsub,bigtable")
    assert select_services(["s3", "pubsub"]) == ["pubsub", "s3"]  # catalogue order


def test_a_service_that_exits_fails_with_the_tail_of_its_log(tmp_path):
    settings = _settings(tmp_path)
    crashing = _fake_service("crasher", "echo 'fatal: port is haunted'; exit 3")

    with pytest.raises(EmulatorStartError, match="exited during start-up") as failure:
        start_emulators(settings, services={"crasher": crashing})

    assert "fatal: port is haunted" in str(failure.value)
    assert not settings.emulator_env_file.exists()
    assert EmulatorFiles(settings).load() == {}


def test_a_service_that_loses_its_port_race_is_relaunched_on_fresh_ports(tmp_path):
    settings = _settings(tmp_path)
    lost_once = tmp_path / "lost-once"
    ports_tried: list[int] = []

    def launch(ports, project):
        ports_tried.append(ports[0])
        return Launch(["sh", "-c", f"if [ -e {lost_once} ]; then python3 -m http.server {ports[0]} "
                                   f"--bind 127.0.0.1; true; else touch {lost_once}; "
                                   f"echo 'java.net.BindException: Address already in use'; exit 1; fi"])

    racer = EmulatorService(name="racer", launch=launch, exports=lambda port: {"RACER_HOST": f"127.0.0.1:{port}"},
                            probe_path="/", startup_timeout=20)
    try:
        env = start_emulators(settings, services={"racer": racer})
        assert len(ports_tried) == 2 and env["RACER_HOST"] == f"127.0.0.1:{ports_tried[1]}"
    finally:
        stop_emulators(settings)


def test_a_service_that_never_answers_times_out_and_its_whole_group_is_stopped(tmp_path):
    settings = _settings(tmp_path)
    pid_file = tmp_path / "silent.pid"
    # The shell waits on a child sleep: both must go when the harness gives up.
    silent = _fake_service("silent", f"echo $$ > {pid_file}; echo starting; sleep 60; true", timeout=1.0)

    with pytest.raises(EmulatorStartError, match="did not answer") as failure:
        start_emulators(settings, services={"silent": silent})

    assert "starting" in str(failure.value)
    assert _wait_until_gone(int(pid_file.read_text())) == []


def test_stopping_a_group_kills_children_that_ignore_sigterm(tmp_path):
    argv = ["sh", "-c", "trap '' TERM; sleep 60 & sleep 60 & wait"]
    pid = spawn(argv, tmp_path / "stubborn.log", env=os.environ, cwd=tmp_path)
    deadline = time.monotonic() + 5
    while len(group_members(pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(group_members(pid)) == 3

    stop_group(pid, grace_seconds=0.5)

    assert group_members(pid) == []
    assert not is_running(pid, argv)


# --- the real emulators -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def core(tmp_path_factory):
    """pubsub, firestore, storage and s3 started by the harness into a fresh home."""
    settings = _settings(tmp_path_factory.mktemp("emulators-home"))
    try:  # a failed start leaves the services that did start running: stop them either way
        env = start_emulators(settings, CORE_SERVICES)
        yield settings, env
    finally:
        stop_emulators(settings)


@pytest.fixture
def client_env(core, monkeypatch):
    settings, env = core
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return settings


@pytest.mark.emulator
def test_env_file_names_a_loopback_endpoint_per_service(core):
    settings, env = core
    assert read_env_file(settings.emulator_env_file) == env
    assert env["GOOGLE_CLOUD_PROJECT"] == "sportsflow-harness-test"
    for key, pattern in LOOPBACK_ENDPOINT.items():
        assert re.fullmatch(pattern, env[key]), (key, env[key])
    assert {env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_DEFAULT_REGION"]} == \
        {"testing", "us-east-1"}
    ports = [env[key].rsplit(":", 1)[1] for key in LOOPBACK_ENDPOINT]
    assert len(set(ports)) == len(ports)


@pytest.mark.emulator
def test_pubsub_emulator_creates_a_topic(client_env, unique_name):
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(client_env.project, unique_name)
    publisher.create_topic(name=topic)
    listed = [t.name for t in publisher.list_topics(project=f"projects/{client_env.project}")]
    assert topic in listed


@pytest.mark.emulator
def test_firestore_emulator_writes_and_reads_a_document(client_env, unique_name):
    from google.cloud import firestore

    document = firestore.Client(project=client_env.project).collection(unique_name).document("match-1")
    document.set({"home": "Arsenal", "goals": 2})
    assert document.get().to_dict() == {"home": "Arsenal", "goals": 2}


@pytest.mark.emulator
def test_storage_emulator_creates_and_lists_a_bucket(client_env, unique_name):
    from google.cloud import storage

    client = storage.Client(project=client_env.project)
    client.create_bucket(unique_name)
    client.bucket(unique_name).blob("raw/match.json").upload_from_string(b"{}")
    assert unique_name in [b.name for b in client.list_buckets()]
    assert client.bucket(unique_name).blob("raw/match.json").download_as_bytes() == b"{}"


@pytest.mark.emulator
def test_s3_emulator_creates_and_lists_a_bucket(client_env, unique_name):
    import boto3

    s3 = boto3.client("s3")  # endpoint and credentials from AWS_* in the env file
    s3.create_bucket(Bucket=unique_name)
    assert unique_name in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.emulator
def test_status_reports_every_started_service_alive_and_answering(core):
    settings, _ = core
    statuses = emulator_status(settings)
    assert [s.service for s in statuses] == CORE_SERVICES
    assert all(s.alive and s.answering for s in statuses)
    assert all(0 < s.startup_seconds < 60 for s in statuses)


@pytest.mark.emulator
def test_up_again_keeps_running_services_and_restarts_a_dead_one_on_its_port(core):
    settings, env = core
    before = EmulatorFiles(settings).load()
    os.kill(before["storage"].pid, signal.SIGKILL)
    _wait_until_gone(before["storage"].pid)

    assert start_emulators(settings, CORE_SERVICES) == env

    after = EmulatorFiles(settings).load()
    assert {n: r.pid for n, r in after.items() if n != "storage"} == \
        {n: r.pid for n, r in before.items() if n != "storage"}
    assert after["storage"].pid != before["storage"].pid
    assert after["storage"].ports == before["storage"].ports
    assert next(s for s in emulator_status(settings) if s.service == "storage").answering


@pytest.mark.emulator
def test_down_stops_every_process_and_removes_the_env_file(tmp_path):
    settings = _settings(tmp_path)
    try:
        start_emulators(settings, ["pubsub", "s3"])
    except Exception:
        stop_emulators(settings)  # what did start must not outlive the test
        raise
    pids = [record.pid for record in EmulatorFiles(settings).load().values()]

    assert stop_emulators(settings) == ["pubsub", "s3"]

    assert [pid for pid in pids if group_members(pid)] == []
    assert not settings.emulator_env_file.exists()
    assert emulator_status(settings) == []


def _bqemulator_available() -> bool:
    return BqEmulatorTools.from_env().is_ready() or os.environ.get("SPORTSFLOW_REQUIRE_EMULATORS") == "1"


@pytest.mark.emulator
@pytest.mark.skipif(not _bqemulator_available(),
                    reason="bqemulator venv absent: run `sportsflow emulators setup` (or set SPORTSFLOW_REQUIRE_EMULATORS=1)")
def test_bigquery_emulator_creates_and_lists_a_dataset(tmp_path, monkeypatch, unique_name):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    settings = _settings(tmp_path)
    env = start_emulators(settings, ["bigquery"])
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", env["BIGQUERY_EMULATOR_HOST"])
        client = bigquery.Client(project=settings.project, credentials=AnonymousCredentials(),
                                 client_options=ClientOptions(api_endpoint=env["BIGQUERY_EMULATOR_HOST"]))
        client.create_dataset(unique_name)
        assert unique_name in [d.dataset_id for d in client.list_datasets()]
        pid = EmulatorFiles(settings).load()["bigquery"].pid
    finally:
        stop_emulators(settings)
    assert group_members(pid) == []
