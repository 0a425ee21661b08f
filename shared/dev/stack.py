"""`sportsflow dev up|down|status`: the whole topology on this machine, with real push.

    state = dev_up(settings, source="replay:../shared/data")   # emulators, functions, push, clock
    dev_status(settings)                                        # processes, backlogs, fan-in
    dev_down(settings)                                          # everything it started, by pid

`up` starts, in order: the emulators (shared.emulators; kept if already running), the provider the
scrapers call, one functions-framework process per implemented function of the topology
(shared/dev/function_process.py) — all at once, then waits until each answers — the topics and
subscriptions of the topology on the Pub/Sub emulator (push subscriptions deliver to those
processes, with the topology's dead-letter policy, ack deadline and backoff; the dead-letter sinks
stay pull subscriptions, drained by the dead-letter sink process), and the scheduler clock.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import httpx

from shared.config import Settings
from shared.dev.push import HEALTH_PATH, push_endpoint
from shared.dev.state import DevProcess, DevState, DevSubscription
from shared.emulators import emulator_status, start_emulators, stop_emulators
from shared.emulators.network import free_ports
from shared.emulators.processes import group_members, is_running, spawn, stop_group
from shared.topology import TOPOLOGY, Topology

log = logging.getLogger("sportsflow.dev")
Progress = Callable[[str], None]
DEV_EMULATORS = ("pubsub", "firestore", "bigquery", "storage")
READY_TIMEOUT_S = 240.0
HEALTH_TIMEOUT_S = 2.0
HTTP_FUNCTION_THREADS = 8
MAX_EVENT_THREADS = 8


class DevError(Exception):
    """`dev up` could not start the stack (it stopped what it had started); the message says why."""


def dev_home(settings: Settings) -> Path:
    return settings.home.resolve()


def implemented_functions(topology: Topology = TOPOLOGY) -> list[str]:
    """Functions whose handler exists (the topology may name some not built yet)."""
    from shared.runtime.handlers import is_implemented
    return [fn.name for fn in topology.functions if is_implemented(fn)]


def threads_for(function: str, topology: Topology = TOPOLOGY) -> int:
    """Request threads of a function's process: what the emulator backend's pull dispatcher gives it
    (one per ten instances, at most 8), at least 2 so `dev status` is answered during a long call."""
    spec = topology.function(function)
    if spec.trigger == "http":
        return HTTP_FUNCTION_THREADS
    return max(2, min(spec.max_instances // 10, MAX_EVENT_THREADS))


# --- up ----------------------------------------------------------------------------------------
def dev_up(settings: Settings, *, source: str = "synthetic", clock_start: str | None = None,
           clock_date: str | None = None, jobs: str = "all", functions: list[str] | None = None,
           environment: dict[str, str] | None = None, progress: Progress = print) -> DevState:
    """`functions`: only these (default: every implemented one); `environment`: extra variables for
    every process (e.g. SPORTSFLOW_PREDICTIONS=off)."""
    home = dev_home(settings)
    settings = replace(settings, backend="emulator", home=home)
    existing = DevState.load(home)
    if existing and any(is_running(p.pid, p.argv) for p in existing.processes):
        raise DevError(f"a dev stack is already up in {home}: `sportsflow dev status`, or `sportsflow dev down` first")
    began = time.monotonic()
    answering_before = {s.service for s in emulator_status(settings) if s.answering}
    start_emulators(settings, DEV_EMULATORS, progress=progress)
    state = DevState(home=str(home), project=settings.project, source=source, started_at=time.time(),
                     emulators_started=[name for name in DEV_EMULATORS if name not in answering_before])
    state.save()
    try:
        _prepare_storage(settings, progress)
        names = functions or implemented_functions()
        ports = free_ports(len(names) + 1)
        provider = _start_provider(home, source, ports[-1])
        state.processes.append(provider)
        env = {**_function_environment(home, provider.url), **(environment or {})}
        state.processes += _start_functions(home, names, ports, env, progress)
        state.save()
        state.subscriptions = _create_topics_and_subscriptions(settings, state, progress)
        state.processes.append(_start_helper(home, "dead-letter-sink", "dead_letter_sink",
                                             ["-m", "shared.dev.dead_letter_sink", "--home", str(home)], env))
        clock_argv = ["-m", "shared.dev.clock", "--home", str(home), "--jobs", jobs]
        clock_argv += ["--start", clock_start] if clock_start else []
        clock_argv += ["--date", clock_date] if clock_date else []
        state.processes.append(_start_helper(home, "clock", "clock", clock_argv, env))
        state.startup_seconds = round(time.monotonic() - began, 2)
        state.save()
    except BaseException:
        progress("dev up failed: stopping what it started")
        dev_down(settings, progress=progress)
        raise
    return state


def _prepare_storage(settings: Settings, progress: Progress) -> None:
    """Tables, datasets, the evidence and raw buckets (Terraform's part); the functions only use them."""
    from shared.bootstrap import Services
    from shared.pipeline.processor import ensure_tables
    from shared.pipeline.tables import pipeline_processors, pipeline_tables

    services = Services(settings)
    try:
        ensure_tables(services, pipeline_processors(), extra=pipeline_tables())
        services.evidence.ensure_bucket()
        services.raw_payloads.ensure_bucket()
    finally:
        services.close()
    progress("tables, the evidence bucket and the raw bucket are in place")


def _function_environment(home: Path, provider_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("THREADS", "WORKERS")}
    env.update({"SPORTSFLOW_BACKEND": "emulator", "SPORTSFLOW_HOME": str(home),
                "PYTHONPATH": _package_root() + os.pathsep + env.get("PYTHONPATH", ""),
                "PYTHONUNBUFFERED": "1"})
    if provider_url:
        env["SPORTSFLOW_PROVIDER_URL"] = provider_url
    return env


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def _spawn(home: Path, name: str, kind: str, argv: list[str], env: dict[str, str], port: int | None) -> DevProcess:
    log_path = logs_dir_of(home) / f"{name}.log"
    pid = spawn(argv, log_path, env=env, cwd=home)
    return DevProcess(name=name, kind=kind, pid=pid, port=port, argv=argv, log=str(log_path), started_at=time.time())


def logs_dir_of(home: Path) -> Path:
    return Path(home) / "dev" / "logs"


def _start_provider(home: Path, source: str, port: int) -> DevProcess:
    argv = [sys.executable, "-m", "shared.dev.provider_process", "--source", source, "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": _package_root() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return _spawn(home, "provider", "provider", argv, env, port)


def _start_helper(home: Path, name: str, kind: str, arguments: list[str], env: dict[str, str]) -> DevProcess:
    return _spawn(home, name, kind, [sys.executable, *arguments], env, None)


def _start_functions(home: Path, names: list[str], ports: list[int], env: dict[str, str],
                     progress: Progress) -> list[DevProcess]:
    launched = []
    started = time.monotonic()
    for name, port in zip(names, ports):
        argv = [sys.executable, "-m", "shared.dev.function_process", name, "--port", str(port),
                "--threads", str(threads_for(name))]
        launched.append(_spawn(home, name, "function", argv, env, port))
    progress(f"started {len(launched)} function processes; waiting until each answers")
    ready = _wait_until_answering(launched, started)
    progress(f"{len(ready)} functions answering after {time.monotonic() - started:.1f} s")
    return ready


def _wait_until_answering(processes: list[DevProcess], started: float) -> list[DevProcess]:
    pending = {p.name: p for p in processes}
    ready: dict[str, DevProcess] = {}
    with httpx.Client(timeout=HEALTH_TIMEOUT_S, trust_env=False) as client:
        while pending:
            for name, process in list(pending.items()):
                if _answers(client, process):
                    ready[name] = replace(process, startup_seconds=round(time.monotonic() - started, 2))
                    del pending[name]
                elif not is_running(process.pid, process.argv):
                    raise DevError(f"function {name} exited during start-up: see {process.log}\n"
                                   f"{_tail(process.log)}")
            if pending and time.monotonic() - started > READY_TIMEOUT_S:
                raise DevError(f"functions not answering after {READY_TIMEOUT_S:.0f} s: {', '.join(sorted(pending))}"
                               f" (logs in {Path(next(iter(pending.values())).log).parent})")
            if pending:
                time.sleep(0.25)
    return [ready[p.name] for p in processes]


def _answers(client: httpx.Client, process: DevProcess) -> bool:
    try:
        return client.get(process.url + HEALTH_PATH).status_code == 200
    except httpx.HTTPError:
        return False


def _tail(path: str, lines: int = 20) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _create_topics_and_subscriptions(settings: Settings, state: DevState, progress: Progress) -> list[DevSubscription]:
    """Every topic and dead-letter topic; every push subscription pushing to its function's process
    (a pull subscription if that function is not running: its messages wait, visible as backlog)."""
    from shared.bootstrap import Services
    from shared.runtime import auth

    topology = TOPOLOGY
    token = auth.dev_token(Path(state.home), "dev-token")
    urls = state.function_urls()
    services = Services(settings)
    bus = services.bus
    created = []
    try:
        for topic in topology.topics:
            bus.create_topic(topic.name)
            bus.create_topic(topic.dead_letter_topic)
        for spec in topology.subscriptions:
            function = spec.push_function if spec.push_function in urls else None
            endpoint = None
            if function:
                fn = topology.function(function)
                endpoint = push_endpoint(urls[function], fn.trigger, project=bus.project, topic=spec.topic,
                                         path=spec.push_path, token=token)
            bus.create_subscription(spec, push_endpoint=endpoint)
            created.append(DevSubscription(name=spec.name, topic=spec.topic, function=function,
                                           push_endpoint=endpoint.split("?", 1)[0] if endpoint else None,
                                           dead_letter_topic=spec.dead_letter_topic,
                                           max_delivery_attempts=spec.max_delivery_attempts))
    finally:
        services.close()
    pushed = sum(1 for s in created if s.push_endpoint)
    progress(f"{len(topology.topics) * 2} topics, {len(created)} subscriptions ({pushed} push) on the Pub/Sub emulator")
    return created


# --- down --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DownReport:
    stopped: list[str]
    left_running: list[int]  # pids still alive after stopping (should be empty)
    emulators_stopped: list[str]


def dev_down(settings: Settings, *, progress: Progress = print) -> DownReport:
    """Stop every recorded process (its whole process group: gunicorn's workers too), then the
    emulators `up` started; check by pid that nothing is left."""
    home = dev_home(settings)
    state = DevState.load(home)
    if state is None:
        return DownReport([], [], [])
    # The clock and the sink first (they call the functions), then functions and provider, in parallel.
    helpers = [p for p in state.processes if p.kind in ("clock", "dead_letter_sink")]
    others = [p for p in state.processes if p not in helpers]
    stopped = []
    for group in (helpers, others):
        with ThreadPoolExecutor(max_workers=max(1, len(group))) as pool:
            stopped += [name for name in pool.map(_stop_process, group) if name]
    left = sorted({pid for p in state.processes for pid in group_members(p.pid)}
                  | {p.pid for p in state.processes if is_running(p.pid, p.argv)})
    emulators = stop_emulators(replace(settings, home=home), state.emulators_started, progress=progress) \
        if state.emulators_started else []
    if left:
        progress(f"still running after stop: pids {left}")
    else:
        DevState.path(home).unlink(missing_ok=True)
    return DownReport(stopped, left, emulators)


def _stop_process(process: DevProcess) -> str | None:
    if not is_running(process.pid, process.argv) and not group_members(process.pid):
        return None
    stop_group(process.pid)
    return process.name


# --- status ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProcessStatus:
    name: str
    kind: str
    pid: int
    port: int | None
    alive: bool
    healthy: bool
    rss_mb: float
    pss_mb: float
    pushes: dict  # subscription -> counters (function processes)


def process_statuses(state: DevState) -> list[ProcessStatus]:
    with httpx.Client(timeout=HEALTH_TIMEOUT_S, trust_env=False) as client, ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda p: _process_status(client, p), state.processes))


def _process_status(client: httpx.Client, process: DevProcess) -> ProcessStatus:
    alive = is_running(process.pid, process.argv)
    healthy, pushes = alive, {}
    if alive and process.kind == "function":
        try:
            response = client.get(process.url + HEALTH_PATH)
            healthy = response.status_code == 200
            pushes = response.json().get("subscriptions", {}) if healthy else {}
        except (httpx.HTTPError, ValueError):
            healthy = False
    elif alive and process.kind == "provider":
        healthy = _port_open(process.port)
    rss, pss = memory_of_group(process.pid) if alive else (0.0, 0.0)
    return ProcessStatus(process.name, process.kind, process.pid, process.port, alive, healthy, rss, pss, pushes)


def _port_open(port: int | None) -> bool:
    import socket
    if not port:
        return False
    with socket.socket() as sock:
        sock.settimeout(HEALTH_TIMEOUT_S)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def memory_of_group(pgid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB summed over the process group (gunicorn's arbiter and its worker). RSS counts
    pages the two share twice; PSS splits them, so PSS sums to what the machine really spends."""
    rss = pss = 0
    for pid in group_members(pgid):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return round(rss / 1024, 1), round(pss / 1024, 1)


def fan_in_state(settings: Settings, day) -> dict:
    """The date's phases and triggers (claimed, published) from the document store."""
    from shared.bootstrap import Services
    from shared.pipeline.status import date_status

    services = Services(replace(settings, backend="emulator", home=dev_home(settings)))
    try:
        return date_status(services.documents, day, with_stale=False, with_dead_letters=True).as_json()
    finally:
        services.close()
