"""Run one test in a child pytest with extra environment: for tests about how the suite itself
behaves under CI's flags (a required dependency missing fails, and skips when run by hand)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_child_pytest(test: str, **env: str) -> tuple[int, str]:
    """(exit code, stdout + stderr) of `pytest -q -x test` in the repo with os.environ plus `env`."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test],
                            cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    return result.returncode, result.stdout + result.stderr
