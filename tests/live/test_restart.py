"""Restart safety with real processes: functions-framework serving live_ingest and the minute
engine on one local store, SIGKILLed mid-match and started again.

Pub/Sub redelivers what was not acknowledged (and may redeliver what was): after the restart
every push is delivered again. Nothing is written twice, the kickoffs stay as they were, and
each process start logs "worker started" once per function, however many invocations follow.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.contracts import encode
from shared.live.diary import match_from_diary
from shared.live.model import LiveProviderUpdate
from shared.live.store import MatchStore
from tests.conftest import REPO_ROOT

TOKEN = "live-restart-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Function:
    def __init__(self, name: str, signature: str, home: Path, logs: Path):
        self.name, self.signature, self.home, self.logs = name, signature, home, logs
        self.starts = 0
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.starts += 1
        self.port = _free_port()
        env = {**os.environ, "SPORTSFLOW_BACKEND": "local", "SPORTSFLOW_HOME": str(self.home),
               "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1",
               "SPORTSFLOW_DEV_TOKEN": TOKEN}
        log = (self.logs / f"{self.name}-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "functions_framework", "--source", str(REPO_ROOT / f"functions/{self.name}/main.py"),
             "--target", "handle", "--signature-type", self.signature, "--host", "127.0.0.1", "--port",
             str(self.port)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:  # a TCP connect, not a request: a request would invoke the function
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"{self.name} did not start listening")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def log_lines(self, start: int) -> list[dict]:
        lines = []
        for raw in (self.logs / f"{self.name}-{start}.log").read_text().splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                pass  # functions-framework's own plain-text lines
        return lines


def _push(function: Function, update: LiveProviderUpdate) -> bool:
    """One Pub/Sub push; False when it was not acknowledged (so Pub/Sub would deliver it again)."""
    encoded = encode(update, run_id="feed", correlation_id="feed")
    body = {"message": {"data": base64.b64encode(encoded.data).decode(), "attributes": encoded.attributes,
                        "messageId": encoded.attributes["message_id"]},
            "subscription": "projects/p/subscriptions/live-provider-events--live-ingest"}
    try:
        return httpx.post(function.url, json=body, timeout=30).status_code < 300
    except httpx.TransportError:
        return False


@pytest.fixture
def functions(tmp_path):
    started = [Function("live_ingest", "cloudevent", tmp_path, tmp_path),
               Function("live_minute_engine", "http", tmp_path, tmp_path)]
    yield started
    for function in started:
        function.stop()


def test_killed_and_restarted_functions_write_nothing_twice_and_keep_kickoffs(tmp_path, functions):
    ingest, engine = functions
    documents = SqliteDocumentStore(tmp_path / "documents.sqlite")
    store = MatchStore(documents)
    kickoff = store.now() - 40 * 60
    store.create(match_from_diary({"match_id": "m1", "match_time": kickoff}, store.now()))
    events = [LiveProviderUpdate(match_id="m1", status_id=2, provider_update_time=kickoff, kickoff_ts=kickoff)]
    events += [LiveProviderUpdate(match_id="m1", status_id=2, provider_update_time=kickoff + 30 * n,
                                  home_score=n // 20) for n in range(1, 60)]
    events += [LiveProviderUpdate(match_id="m1", status_id=3, provider_update_time=kickoff + 2000, home_score=2)]
    second = [LiveProviderUpdate(match_id="m1", status_id=4, provider_update_time=kickoff + 2900 + n,
                                 home_score=2, kickoff_ts=kickoff + 2900 if n == 0 else None) for n in range(40)]
    for function in functions:
        function.start()

    first_half, rest = events[:30], events[30:]
    assert all(_push(ingest, e) for e in first_half)
    assert httpx.post(engine.url, json={"ticks": 1}, headers=AUTH, timeout=60).status_code == 200
    # a burst in flight when the ingest process is SIGKILLed
    with ThreadPoolExecutor(8) as pool:
        acked = list(pool.map(lambda e: _push(ingest, e), rest[:20]))
        ingest.kill()
        acked += list(pool.map(lambda e: _push(ingest, e), rest[20:]))
    engine.kill()
    assert not all(acked)  # some deliveries were lost with the process
    before = documents.get("live_matches/m1")

    for function in functions:
        function.start()
    # Pub/Sub delivers everything again (the unacknowledged, and duplicates of the acknowledged)
    after_acked = documents.get("live_matches/m1")
    for event, was_acked in zip(events, [True] * len(first_half) + acked):
        assert _push(ingest, event)
        if was_acked:  # already applied before the kill: delivering it again writes nothing
            assert documents.get("live_matches/m1").version == after_acked.version
        after_acked = documents.get("live_matches/m1")
    redelivered = documents.get("live_matches/m1")
    assert redelivered.data["provider_update_time"] == events[-1].provider_update_time
    assert redelivered.data["first_half_kickoff_ts"] == before.data["first_half_kickoff_ts"] == kickoff
    assert redelivered.data["status_id"] == 3 and redelivered.data["minute"] == before.data["minute"]

    for event in second:
        assert _push(ingest, event)
    assert httpx.post(engine.url, json={"ticks": 1}, headers=AUTH, timeout=60).status_code == 200
    final = documents.get("live_matches/m1").data
    assert final["first_half_kickoff_ts"] == kickoff and final["second_half_kickoff_ts"] == kickoff + 2900
    assert final["provider_update_time"] == second[-1].provider_update_time

    for function in functions:
        for start in (1, 2):
            worker_started = [line for line in function.log_lines(start) if line.get("message") == "worker started"]
            assert [line["worker"] for line in worker_started] == [function.name], (function.name, start)
    # many invocations (each push above answered 2xx by the restarted process), one "worker started";
    # live_ingest logs its invocations aggregated, never an INFO line per message
    assert not [line for line in ingest.log_lines(2) if line.get("message") in ("started", "finished")]
    documents.close()
