"""OpenBLAS and OpenMP held to one thread while batches are estimated.

Their worker threads spin while they wait: on a shared or one-vCPU instance the similar-player
distance products cost 2-3x the CPU time across two threads (~340 ms against ~120 ms per 5,000
rows) for no gain in wall time, and LightGBM's leaf lookup ~1.7x; one process per core is how
predictions scale. The limit is process-wide (the libraries have one setting), so overlapping
estimates in several threads share it: it is set by the first to enter and the original limits
come back when the last one leaves."""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_holders = 0
_limiter = None


def _controller() -> ThreadpoolController:
    return _controller_for("lightgbm" in sys.modules)


@cache
def _controller_for(lightgbm_loaded: bool) -> ThreadpoolController:
    return ThreadpoolController()   # lazily: after numpy and (once it is imported) LightGBM load their libraries


@contextmanager
def single_threaded() -> Iterator[None]:
    global _holders, _limiter
    with _lock:
        if _holders == 0:
            _limiter = _controller().limit(limits=1)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                _limiter.restore_original_limits()
                _limiter = None


def thread_limits() -> dict[str, int]:
    """internal API (openblas, openmp, …) → its current number of threads."""
    return {info["internal_api"]: info["num_threads"] for info in _controller().info()}
