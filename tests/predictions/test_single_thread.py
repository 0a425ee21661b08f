"""Estimation holds OpenBLAS/OpenMP to one thread, and overlapping holders (worker threads of one
process) give the original limits back only when the last one leaves."""
from __future__ import annotations

import numpy as np

from shared.predictions.systems.single_thread import single_threaded, thread_limits


def test_overlapping_holders_keep_one_thread_until_the_last_leaves_then_restore_the_original():
    np.ones((4, 4)) @ np.ones((4, 4))      # OpenBLAS is loaded
    original = thread_limits()
    first, second = single_threaded(), single_threaded()
    first.__enter__()
    second.__enter__()
    assert set(thread_limits().values()) == {1}
    first.__exit__(None, None, None)       # the first leaves while the second still estimates
    assert set(thread_limits().values()) == {1}
    second.__exit__(None, None, None)
    assert thread_limits() == original
