"""The local scheduler clock: which jobs are due when, the bodies it sends, the calls it makes."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from shared.dev.clock import CLOCK_TIME_ZONE, Clock, fire_job, job_body, offset_for
from shared.topology import TOPOLOGY

LA = ZoneInfo("America/Los_Angeles")


def _job(name):
    return next(j for j in TOPOLOGY.scheduler_jobs if j.name == name)


@pytest.fixture
def recorder():
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self):
            length = int(self.headers.get("Content-Length") or 0)
            calls.append({"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"),
                          "body": json.loads(self.rfile.read(length)) if length else None})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = _record

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def test_at_six_in_los_angeles_the_phase5_backup_start_is_due():
    clock = Clock(list(TOPOLOGY.scheduler_jobs), dict, "t")
    due = {j.name for j in clock.due(datetime(2025, 1, 15, 6, 0, tzinfo=LA))}
    assert {"phase5-start-backup", "phase1-hourly-scrape", "reconciler-every-10-minutes",
            "live-poll-every-minute"} <= due
    assert "phase5-retry-0615" not in due and "phase1-daily-scrape" not in due


def test_each_job_is_read_in_its_own_time_zone():
    clock = Clock([_job("live-diary-sync")], dict, "t")  # 00:05 Etc/UTC
    assert clock.due(datetime(2025, 1, 15, 0, 5, tzinfo=timezone.utc))
    assert not clock.due(datetime(2025, 1, 15, 0, 5, tzinfo=LA))


def test_a_pinned_date_makes_today_and_yesterday_explicit():
    assert job_body(_job("phase1-daily-scrape"), date(2025, 1, 15)) == {"scrapers": "daily", "date": "2025-01-14"}
    assert job_body(_job("phase5-start-backup"), date(2025, 1, 15))["date"] == "2025-01-15"
    assert job_body(_job("phase5-start-backup"), None)["date"] == "today"


def test_the_start_time_shifts_the_clock_to_that_minute():
    now = datetime(2025, 1, 15, 22, 41, 30, tzinfo=timezone.utc)  # 14:41 in Los Angeles
    shifted = (now + offset_for("06:00", now)).astimezone(CLOCK_TIME_ZONE)
    assert (shifted.hour, shifted.minute) == (6, 0)
    assert offset_for(None) == timedelta(0)


def test_a_tick_calls_each_due_job_with_the_dev_token_and_its_body(recorder):
    url, calls = recorder
    jobs = [_job("phase5-start-backup"), _job("phase5-status-0700"), _job("phase1-hourly-scrape")]
    clock = Clock(jobs, lambda: {"phase5_coordinator": url}, "tok", day=date(2025, 1, 15))
    for thread in clock.tick(datetime(2025, 1, 15, 6, 0, tzinfo=LA)):
        thread.join(10)
    # phase1_scrapers is not running: skipped, not failed
    assert calls == [{"method": "POST", "path": "/start", "auth": "Bearer tok",
                      "body": {"date": "2025-01-15", "wait_minutes": 30}}]
    code, _ = fire_job(_job("phase5-status-0700"), url, "tok", day=date(2025, 1, 15))
    assert code == 200
    assert calls[-1]["method"] == "GET" and calls[-1]["path"] == "/status?date=2025-01-15"
