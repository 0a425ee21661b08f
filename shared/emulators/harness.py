"""Start, stop and inspect the emulators: the Python API behind `sportsflow emulators`.

`start_emulators` is idempotent: services recorded in the state file that are alive and
answering are kept, dead or silent ones are stopped and started again. Every new service is
launched at once and then all are probed together, so start-up takes as long as the slowest.
"""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from shared.config import Settings, read_env_file
from shared.emulators.bqemulator_venv import Progress
from shared.emulators.network import LOOPBACK, answers, reuse_or_pick_ports
from shared.emulators.processes import is_running, spawn, stop_group
from shared.emulators.services import SERVICES, EmulatorService
from shared.emulators.state import EmulatorFiles, RunningEmulator

log = logging.getLogger("sportsflow.emulators")

_POLL_SECONDS = 0.1
_LOG_TAIL_LINES = 25


class EmulatorStartError(Exception):
    """A service failed to start; the message includes the tail of its log."""

    def __init__(self, service: str, reason: str, log_path: Path):
        self.service = service
        self.log_path = log_path
        super().__init__(f"{service} {reason}\n--- last lines of {log_path} ---\n{log_tail(log_path)}")


@dataclass(frozen=True)
class EmulatorStatus:
    service: str
    endpoint: str
    pid: int
    alive: bool
    answering: bool
    started_at: float
    startup_seconds: float
    log: str


@dataclass(frozen=True)
class _Launched:
    service: EmulatorService
    pid: int
    ports: list[int]
    argv: list[str]
    log: Path
    launched_at: float  # monotonic
    launched_wall: float
    probe_url: str


def _log_progress(message: str) -> None:
    log.info(message)


def start_emulators(
    settings: Settings,
    only: Iterable[str] | None = None,
    *,
    services: Mapping[str, EmulatorService] = SERVICES,
    timeout: float | None = None,
    progress: Progress = _log_progress,
) -> dict[str, str]:
    """Make the selected services (default: all) run and answer; return the env file's contents.

    timeout overrides each service's own start-up timeout. Raises EmulatorStartError (after
    stopping the failed service and recording the ones that did start) if one fails.
    """
    names = select_services(only, services)
    files = EmulatorFiles(settings)
    with files.locked():
        running = files.load()
        previous_ports = {name: record.ports for name, record in running.items()}
        to_start = [name for name in names if not _keep_if_healthy(running, name, progress)]
        for name in to_start:
            if services[name].prepare is not None:
                services[name].prepare(progress)
        started, failures = _start_with_port_retries(to_start, services, settings, files, previous_ports,
                                                     timeout, progress)
        for record in started:
            running[record.service] = record
            progress(f"{record.service}: ready at {record.endpoint} in {record.startup_seconds:.1f} s")
        files.save(running)
    for extra_failure in failures[1:]:
        progress(str(extra_failure))
    if failures:
        raise failures[0]
    return read_env_file(files.env) if running else {}


def stop_emulators(settings: Settings, only: Iterable[str] | None = None,
                   progress: Progress = _log_progress) -> list[str]:
    """Stop the recorded services (default: all), then rewrite or remove the env file. Returns their names."""
    files = EmulatorFiles(settings)
    with files.locked():
        running = files.load()
        requested = set(running if only is None else _split(only))
        names = [name for name in _in_catalogue_order(running) if name in requested]
        stopping = [running.pop(name) for name in names]
        # In parallel: each stop may wait out a grace period.
        with ThreadPoolExecutor(max_workers=max(len(stopping), 1)) as pool:
            list(pool.map(_stop_if_ours, stopping))
        for record in stopping:
            progress(f"{record.service}: stopped (pid {record.pid})")
        files.save(running)
    return names


def emulator_status(settings: Settings) -> list[EmulatorStatus]:
    """Every recorded service, whether its process is alive and whether it answers its probe."""
    statuses = []
    records = EmulatorFiles(settings).load()
    for record in (records[name] for name in _in_catalogue_order(records)):
        alive = is_running(record.pid, record.argv)
        statuses.append(EmulatorStatus(
            service=record.service, endpoint=record.endpoint, pid=record.pid, alive=alive,
            answering=alive and answers(record.probe_url), started_at=record.started_at,
            startup_seconds=record.startup_seconds, log=record.log,
        ))
    return statuses


def select_services(only: Iterable[str] | None, services: Mapping[str, EmulatorService] = SERVICES) -> list[str]:
    """The requested service names in catalogue order; ValueError naming any unknown one."""
    if only is None:
        return list(services)
    requested = _split(only)
    unknown = sorted(set(requested) - set(services))
    if unknown:
        raise ValueError(f"unknown emulator(s) {', '.join(unknown)}: choose from {', '.join(services)}")
    return [name for name in services if name in requested]


def log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"


def _split(only: Iterable[str]) -> list[str]:
    """Accept ["pubsub", "s3"] as well as "pubsub,s3" (what --only passes)."""
    items = [only] if isinstance(only, str) else list(only)
    return [name.strip() for item in items for name in item.split(",") if name.strip()]


def _keep_if_healthy(running: dict[str, RunningEmulator], name: str, progress: Progress) -> bool:
    record = running.get(name)
    if record is None:
        return False
    if is_running(record.pid, record.argv) and answers(record.probe_url):
        progress(f"{name}: already running (pid {record.pid}) at {record.endpoint}")
        return True
    progress(f"{name}: recorded pid {record.pid} is dead or not answering; restarting it")
    _stop_if_ours(record)
    del running[name]
    return False


def _in_catalogue_order(names: Iterable[str]) -> list[str]:
    catalogue = list(SERVICES)
    return sorted(names, key=lambda name: (catalogue.index(name) if name in catalogue else len(catalogue), name))


def _stop_if_ours(record: RunningEmulator) -> None:
    if _owns_group(record):
        stop_group(record.pid)


def _owns_group(record: RunningEmulator) -> bool:
    """Still our process, or the leader is gone (then only our orphans can be in its group)."""
    return is_running(record.pid, record.argv) or not Path(f"/proc/{record.pid}").exists()


_PORT_RACE_RETRIES = 2


def _start_with_port_retries(names, services, settings, files, previous_ports, timeout, progress):
    """Launch and wait. When every failure is a lost port race (picked free, taken by another
    process before the service bound it), relaunch those services on fresh ports."""
    started: list[RunningEmulator] = []
    ports_of = dict(previous_ports)
    for attempt in range(_PORT_RACE_RETRIES + 1):
        ready, failures = _launch_and_wait(names, services, settings, files, ports_of, timeout, progress)
        started += ready
        if not failures or attempt == _PORT_RACE_RETRIES or not all(map(_lost_its_port, failures)):
            return started, failures
        names, ports_of = [f.service for f in failures], {}
        for failure in failures:
            progress(f"{failure.service}: its port was taken meanwhile; retrying on fresh ports")
    return started, []


def _launch_and_wait(names, services, settings, files, ports_of, timeout, progress):
    launched: dict[str, _Launched] = {}
    try:
        for name in names:
            launched[name] = _launch(services[name], settings, files, ports_of.get(name, []))
            progress(f"{name}: launched (pid {launched[name].pid}), waiting until it answers")
        return _wait_until_ready(launched, timeout)
    except BaseException:
        for entry in launched.values():
            stop_group(entry.pid)
        raise


def _lost_its_port(failure: "EmulatorStartError") -> bool:
    try:
        tail = Path(failure.log_path).read_text(errors="replace")[-20_000:]
    except OSError:
        return False
    return "Address already in use" in tail or "address already in use" in tail


def _launch(service: EmulatorService, settings: Settings, files: EmulatorFiles,
            previous_ports: list[int]) -> _Launched:
    # A restarted service keeps its port when it can, so shells that sourced the env file still work.
    ports = reuse_or_pick_ports(previous_ports, service.ports_needed)
    launch = service.launch(ports, settings.project)
    log_path = files.log(service.name)
    pid = spawn(launch.argv, log_path, env=os.environ if launch.env is None else launch.env, cwd=files.directory)
    return _Launched(service=service, pid=pid, ports=ports, argv=launch.argv, log=log_path,
                     launched_at=time.monotonic(), launched_wall=time.time(),
                     probe_url=service.probe_url(ports[0], settings.project))


def _wait_until_ready(launched: dict[str, _Launched], timeout: float | None,
                      ) -> tuple[list[RunningEmulator], list[EmulatorStartError]]:
    pending = dict(launched)
    started: list[RunningEmulator] = []
    failures: list[EmulatorStartError] = []
    while pending:
        for name, entry in list(pending.items()):
            waited = time.monotonic() - entry.launched_at
            if answers(entry.probe_url):
                started.append(_record(entry, waited))
            elif not is_running(entry.pid, entry.argv):
                stop_group(entry.pid)  # reaps it and any helper it left behind
                failures.append(EmulatorStartError(name, f"exited during start-up after {waited:.1f} s", entry.log))
            elif waited > (timeout or entry.service.startup_timeout):
                stop_group(entry.pid)
                failures.append(EmulatorStartError(name, f"did not answer {entry.probe_url} within "
                                                         f"{waited:.0f} s (stopped it)", entry.log))
            else:
                continue
            del pending[name]
        if pending:
            time.sleep(_POLL_SECONDS)
    return started, failures


def _record(entry: _Launched, startup_seconds: float) -> RunningEmulator:
    return RunningEmulator(
        service=entry.service.name, pid=entry.pid, ports=entry.ports,
        endpoint=f"http://{LOOPBACK}:{entry.ports[0]}", probe_url=entry.probe_url, argv=entry.argv,
        log=str(entry.log), started_at=entry.launched_wall, startup_seconds=round(startup_seconds, 2),
        exports=entry.service.exports(entry.ports[0]),
    )
