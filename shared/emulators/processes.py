"""Emulator processes: start each in its own process group, stop the whole group by id.

Java emulators and Python servers may fork helpers; signalling the process group (the
leader's pid, thanks to `start_new_session=True`) makes sure nothing lingers. Liveness is
read from /proc so zombies count as gone and a reused pid is not mistaken for ours.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Mapping, Sequence

STOP_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.05

# Children this Python process started, kept so they are reaped (no zombies, no
# "still running" warnings) when stopped from the same process, e.g. in tests.
_children: dict[int, subprocess.Popen] = {}


def spawn(argv: Sequence[str], log_path: Path, *, env: Mapping[str, str], cwd: Path) -> int:
    """Start argv detached in a new session, stdout+stderr to log_path (truncated). Returns the pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(env), cwd=cwd, start_new_session=True,
        )
    _children[process.pid] = process
    return process.pid


def is_running(pid: int, argv: Sequence[str]) -> bool:
    """True if pid is a live (non-zombie) process still running the command we started."""
    state = _process_state(pid)
    return state is not None and state not in "ZX" and _command_matches(pid, argv)


def stop_group(pid: int, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group led by pid, SIGKILL whatever is left after the grace period."""
    for sig, wait_seconds in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, grace_seconds)):
        if not group_members(pid):
            break
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        _wait_for_group_exit(pid, wait_seconds)
    _reap(pid)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group pgid."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read_stat(int(entry.name))
            if stat and stat[0] not in "ZX" and int(stat[2]) == pgid:
                members.append(int(entry.name))
    return members


def _wait_for_group_exit(pgid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while group_members(pgid) and time.monotonic() < deadline:
        _reap(pgid)
        time.sleep(_POLL_SECONDS)


def _reap(pid: int) -> None:
    process = _children.get(pid)
    if process is not None and process.poll() is not None:
        del _children[pid]


def _read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, ...]."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()


def _process_state(pid: int) -> str | None:
    stat = _read_stat(pid)
    return stat[0] if stat else None


def _command_matches(pid: int, argv: Sequence[str]) -> bool:
    # Scripts (moto_server, bqemulator) show up as "python <script> args...": compare the
    # arguments, which include our chosen port and so identify our process.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    arguments = list(argv[1:])
    cmdline = [part for part in cmdline if part]
    return cmdline[len(cmdline) - len(arguments):] == arguments and Path(argv[0]).name in " ".join(cmdline)
