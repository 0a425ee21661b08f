"""The local Cloud Scheduler: fires the topology's scheduler jobs at their times, against the dev
function processes, authenticated with the home's development token (it stands in for the
scheduler's OIDC token, as for push).

    python -m shared.dev.clock --home H [--start HH:MM] [--date D] [--jobs a,b]

The clock runs at real speed. `--start HH:MM` (in America/Los_Angeles, the scheduler's default
time zone) shifts it so that it *is* HH:MM when it starts: `--start 06:00` fires the Phase 5
backup start at once. `--date D` pins the jobs' "today"/"yesterday" to D and D - 1 (the bodies
are sent with the explicit date), so a backup run can be fired for a replayed date.
`fire_job` is also what `sportsflow dev fire JOB` calls.
"""
from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from shared.dev.cron import CronSchedule
from shared.topology import TOPOLOGY
from shared.topology.model import SchedulerJobSpec

log = logging.getLogger("sportsflow.dev.clock")
CLOCK_TIME_ZONE = ZoneInfo("America/Los_Angeles")


def job_body(job: SchedulerJobSpec, day: date | None) -> dict:
    """The job's body, with "today"/"yesterday" made explicit when the clock is pinned to a date."""
    body = dict(job.body)
    if day is not None and body.get("date") in ("today", "yesterday"):
        body["date"] = (day if body["date"] == "today" else day - timedelta(days=1)).isoformat()
    return body


def fire_job(job: SchedulerJobSpec, base_url: str, token: str, *, day: date | None = None,
             timeout: float | None = None) -> tuple[int, str]:
    """One scheduler call: (HTTP status, the first 2000 characters of the response)."""
    body = job_body(job, day)
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "Google-Cloud-Scheduler (sportsflow dev clock)"}
    url = base_url + job.http_path
    with httpx.Client(timeout=timeout or TOPOLOGY.function(job.target_function).timeout_s + 30,
                      trust_env=False) as client:
        if job.http_method == "GET":
            response = client.get(url, params=body, headers=headers)
        else:
            response = client.post(url, json=body, headers=headers)
    return response.status_code, response.text[:2000]


class Clock:
    def __init__(self, jobs: list[SchedulerJobSpec], urls: "callable", token: str, *,
                 offset: timedelta = timedelta(0), day: date | None = None):
        """`urls()` -> {function: base URL} (read fresh each minute: processes may restart)."""
        self.jobs = jobs
        self._schedules = {job.name: CronSchedule.parse(job.schedule) for job in jobs}
        self._urls = urls
        self._token = token
        self.offset = offset
        self.day = day

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def due(self, moment: datetime) -> list[SchedulerJobSpec]:
        return [job for job in self.jobs
                if self._schedules[job.name].matches(moment.astimezone(ZoneInfo(job.time_zone)))]

    def tick(self, moment: datetime) -> list[threading.Thread]:
        urls = self._urls()
        fired = []
        for job in self.due(moment):
            base = urls.get(job.target_function)
            if base is None:
                log.warning("scheduler job skipped: its function is not running",
                            extra={"fields": {"job": job.name, "function": job.target_function}})
                continue
            thread = threading.Thread(target=self._fire, args=(job, base, moment), daemon=True)
            thread.start()
            fired.append(thread)
        return fired

    def _fire(self, job: SchedulerJobSpec, base: str, moment: datetime) -> None:
        started = time.perf_counter()
        try:
            status, text = fire_job(job, base, self._token, day=self.day)
        except httpx.HTTPError as err:
            status, text = 0, f"{type(err).__name__}: {err}"
        log.info("scheduler job fired", extra={"fields": {
            "job": job.name, "function": job.target_function, "path": job.http_path, "status": status,
            "scheduled_for": moment.isoformat(), "duration_ms": round((time.perf_counter() - started) * 1000),
            "response": text[:300]}})

    def run(self, stop: threading.Event) -> None:
        """Each minute of clock time, once, at its start (the first minute is the current one)."""
        minute = self.now().replace(second=0, microsecond=0)
        while not stop.is_set():
            self.tick(minute)
            minute += timedelta(minutes=1)
            stop.wait(max(0.0, (minute - self.now()).total_seconds()))


def offset_for(start: str | None, today: datetime | None = None) -> timedelta:
    """How far to shift the real clock so that it is `start` (HH:MM, Los Angeles) now."""
    if not start:
        return timedelta(0)
    hours, minutes = (int(part) for part in start.split(":", 1))
    now = (today or datetime.now(timezone.utc)).astimezone(CLOCK_TIME_ZONE)
    target = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    return target - now.replace(second=0, microsecond=0)


def main(argv: list[str] | None = None) -> None:
    import signal

    from shared.dev.state import DevState
    from shared.observability.logging import configure_logging
    from shared.runtime import auth

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--start", help="HH:MM (America/Los_Angeles) the clock starts at")
    parser.add_argument("--date", type=date.fromisoformat, help="pin the jobs' today to this date")
    parser.add_argument("--jobs", default="all", help="comma-separated job names, or all")
    args = parser.parse_args(argv)
    configure_logging()
    jobs = [job for job in TOPOLOGY.scheduler_jobs if args.jobs == "all" or job.name in args.jobs.split(",")]
    token = auth.dev_token(args.home, "dev-token")
    clock = Clock(jobs, lambda: DevState.load(args.home).function_urls(), token,
                  offset=offset_for(args.start), day=args.date)
    log.info("scheduler clock started", extra={"fields": {
        "now": clock.now().isoformat(), "jobs": [j.name for j in jobs],
        "pinned_date": args.date.isoformat() if args.date else None}})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    clock.run(stop)
    print(json.dumps({"message": "scheduler clock stopped"}), flush=True)


if __name__ == "__main__":
    main()
