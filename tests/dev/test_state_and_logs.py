"""dev.json round trip; `dev logs` merging and following the processes' logs."""
from __future__ import annotations

import json
import threading
import time

from shared.dev.logs import follow, read_all
from shared.dev.state import DevProcess, DevState, DevSubscription


def test_dev_state_round_trips(tmp_path):
    state = DevState(home=str(tmp_path), project="p", source="synthetic", started_at=1.0, emulators_started=["pubsub"],
                     processes=[DevProcess("phase3_analytics", "function", 42, 8123, ["python"], "l", 2.0, 1.5),
                                DevProcess("clock", "clock", 43, None, ["python"], "l", 2.0)],
                     subscriptions=[DevSubscription("s", "t", "phase3_analytics", "http://x/y", "t-dead-letter", 5)])
    state.save()
    loaded = DevState.load(tmp_path)
    assert loaded == state
    assert loaded.function_urls() == {"phase3_analytics": "http://127.0.0.1:8123"}
    assert DevState.load(tmp_path / "absent") is None


def _line(t, message, **fields):
    return json.dumps({"severity": "INFO", "message": message, "time": t, **fields}) + "\n"


def test_logs_of_all_processes_merge_by_time_and_filter_by_function(tmp_path):
    (tmp_path / "a.log").write_text(_line("2026-01-01T00:00:01", "one", function="a") + "[gunicorn] booting\n"
                                    + _line("2026-01-01T00:00:03", "three", function="a"))
    (tmp_path / "b.log").write_text(_line("2026-01-01T00:00:02", "two", function="b"))
    lines = read_all(tmp_path)
    assert [(line.process, line.entry and line.entry["message"]) for line in lines] == [
        ("a", "one"), ("a", None), ("b", "two"), ("a", "three")]
    assert "two" in lines[2].render() and '"function":"b"' in lines[2].render()
    assert [line.process for line in read_all(tmp_path, "b")] == ["b"]
    assert len(read_all(tmp_path, tail=2)) == 2


def test_follow_prints_only_new_whole_lines_also_of_new_files(tmp_path):
    (tmp_path / "a.log").write_text(_line("t0", "old"))
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(follow(tmp_path, stop_after_s=2.5)))
    reader.start()
    time.sleep(0.7)
    with (tmp_path / "a.log").open("a") as handle:
        handle.write(_line("t1", "new"))
        handle.write('{"message": "partial')
    (tmp_path / "b.log").write_text(_line("t2", "other"))
    reader.join()
    assert sorted(line.entry["message"] for line in seen) == ["new", "other"]
