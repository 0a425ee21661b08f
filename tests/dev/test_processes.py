"""Real processes, no emulators: a dev function process behind its push gate, and `dev down`
stopping every recorded process by pid — process groups, children and all."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.config import Settings
from shared.dev.push import HEALTH_PATH
from shared.dev.stack import dev_down
from shared.dev.state import DevProcess, DevState
from shared.emulators.network import free_ports
from shared.emulators.processes import group_members, spawn
from shared.runtime import auth

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in "ZX"


@pytest.fixture
def function_process(tmp_path):
    port = free_ports(1)[0]
    env = {**os.environ, "SPORTSFLOW_HOME": str(tmp_path), "SPORTSFLOW_BACKEND": "local", "PYTHONPATH": str(REPO)}
    pid = spawn([sys.executable, "-m", "shared.dev.function_process", "phase3_analytics", "--port", str(port),
                 "--threads", "2"], tmp_path / "f.log", env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + HEALTH_PATH, timeout=1, trust_env=False).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        pytest.fail(f"function process did not answer: {(tmp_path / 'f.log').read_text()[-2000:]}")
    yield url, auth.dev_token(tmp_path, "dev-token"), pid
    from shared.emulators.processes import stop_group
    stop_group(pid)


def _push_body():
    return {"subscription": "projects/p/subscriptions/phase3-trigger--phase3-analytics",
            "message": {"messageId": "1", "data": base64.b64encode(b"not json").decode(), "attributes": {}}}


def test_a_function_process_serves_functions_framework_behind_the_push_gate(function_process):
    url, token, pid = function_process
    health = httpx.get(url + HEALTH_PATH, trust_env=False).json()
    assert health["function"] == "phase3_analytics"
    assert len(group_members(pid)) == 2  # gunicorn's arbiter and its worker, one process group
    topic_path = "/projects/p/topics/phase3-trigger"
    assert httpx.post(url + topic_path, json=_push_body(), trust_env=False).status_code == 401
    assert httpx.post(url + topic_path + "?token=wrong", json=_push_body(), trust_env=False).status_code == 403


def _stubborn_script() -> str:
    # ignores SIGTERM and leaves a child in its process group: only SIGKILL of the group ends both
    return "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"


def test_dev_down_stops_every_recorded_process_by_pid_and_checks(tmp_path):
    processes = []
    for name, script in (("plain", "import time; time.sleep(600)"), ("stubborn", _stubborn_script())):
        argv = [sys.executable, "-c", script]
        pid = spawn(argv, tmp_path / f"{name}.log", env=dict(os.environ), cwd=tmp_path)
        processes.append(DevProcess(name, "function", pid, None, argv, str(tmp_path / f"{name}.log"), time.time()))
    deadline = time.monotonic() + 60  # until the stubborn one has started its child
    while len(pids := [pid for p in processes for pid in group_members(p.pid)]) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # and set its SIGTERM handler (before its child was started)
    assert len(pids) == 3
    DevState(home=str(tmp_path), project="p", source="synthetic", started_at=time.time(),
             processes=processes).save()

    report = dev_down(Settings(home=tmp_path), progress=lambda m: None)

    assert sorted(report.stopped) == ["plain", "stubborn"]
    assert report.left_running == []
    assert [pid for pid in pids if _alive(pid)] == []
    assert DevState.load(tmp_path) is None  # nothing left to stop: the record is gone


def test_dev_down_without_a_stack_does_nothing(tmp_path):
    report = dev_down(Settings(home=tmp_path), progress=lambda m: None)
    assert report.stopped == [] and report.left_running == []


def test_the_command_is_mounted():
    result = subprocess.run([sys.executable, "-m", "shared.cli.app", "dev", "--help"], capture_output=True,
                            text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0
    for command in ("up", "down", "status", "logs", "fire", "trigger"):
        assert command in result.stdout
