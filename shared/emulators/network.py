"""Free loopback ports and the HTTP probe that tells whether an emulator answers."""
from __future__ import annotations

import socket
from contextlib import ExitStack

import httpx

LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT_SECONDS = 1.0


def free_ports(count: int) -> list[int]:
    """count distinct ports free on 127.0.0.1 right now (held open together so none repeats)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]


def reuse_or_pick_ports(previous: list[int], count: int) -> list[int]:
    """previous again if it has count ports and all are still free (endpoints stay stable), else new ones."""
    if len(previous) == count and all(_is_free(port) for port in previous):
        return list(previous)
    return free_ports(count)


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def answers(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True if a GET on url returns 200: the emulator is up and serving its API."""
    try:
        # trust_env=False: a proxy from the environment must never sit between us and loopback.
        response = httpx.get(url, timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
