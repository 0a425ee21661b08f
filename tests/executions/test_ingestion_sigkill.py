"""`sportsflow ingest` in a real process killed with SIGKILL between the upsert and the rest, then
run again: the snapshot is finished (not applied twice), its report says what the killed run
changed, and each ended match's settlement is enqueued once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from shared.runtime import crash_points

AS_OF = "2025-08-17T00:00:00+00:00"  # after round 1 of the synthetic season


def ingest(home, *args, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SPORTSFLOW_KILL_AT"}
    if kill_at:
        env["SPORTSFLOW_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "shared.cli.app", "--home", str(home), "ingest", "--tournament", "t1",
                           *args], env=env, capture_output=True, text=True, timeout=300)


def test_killed_after_the_upsert_and_run_again(tmp_path):
    assert ingest(tmp_path, "--operation", "fixtures").returncode == 0
    results = ("--operation", "results", "--as-of", AS_OF)
    killed = ingest(tmp_path, *results, kill_at=crash_points.INGESTION_UPSERTED)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-2000:])

    again = ingest(tmp_path, *results)
    assert again.returncode == 0, again.stderr[-2000:]
    (report,) = json.loads(again.stdout)["reports"]
    assert report["decision"] == "resume" and report["counts"]["updated"] == 3
    assert report["settlements_enqueued"] == ["r01m01", "r01m02", "r01m03"]

    replay = json.loads(ingest(tmp_path, *results).stdout)["reports"][0]
    assert replay["decision"] == "duplicate" and replay["original_execution_id"] == report["original_execution_id"]
    listed = subprocess.run([sys.executable, "-m", "shared.cli.app", "--home", str(tmp_path), "executions", "list",
                             "--job-type", "settlement"], capture_output=True, text=True, check=True).stdout
    settlements = [json.loads(line) for line in listed.splitlines()]
    assert len(settlements) == 3 and {s["status"] for s in settlements} == {"completed"}
