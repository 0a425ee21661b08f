"""bqemulator's own virtualenv and the HOME it runs with.

bqemulator pins protobuf 6, which conflicts with our Google clients, so it lives in a venv
of its own under `$SPORTSFLOW_TOOLS_DIR` (default `~/.cache/sportsflow/tools`). At start it
runs `INSTALL spatial`, which downloads DuckDB's spatial extension; offline that fails and
the emulator exits. So we install the extension from the `duckdb-extension-spatial` wheel
into the DuckDB extension directory of a dedicated HOME, and start the emulator with that
HOME: `INSTALL` then finds it already installed and never touches the network.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping

REQUIREMENTS: tuple[str, ...] = (
    "bqemulator>=1.4,<2",
    "duckdb==1.5.5",
    "duckdb-extension-spatial==1.5.5",
    "numpy",
)

Progress = Callable[[str], None]

# Run inside the bqemulator venv: where the wheel put the extension, and where DuckDB looks.
_DESCRIBE_DUCKDB = """
import json, pathlib, duckdb, duckdb_extension_spatial
package = pathlib.Path(duckdb_extension_spatial.__file__).parent
print(json.dumps({
    "version": duckdb.__version__,
    "platform": duckdb.sql("PRAGMA platform").fetchone()[0],
    "extension_files": sorted(str(p) for p in package.rglob("spatial.duckdb_extension")),
}))
"""

# Exactly what bqemulator does at start; succeeds offline only if the extension is in place.
_LOAD_SPATIAL = "import duckdb; c = duckdb.connect(); c.execute('INSTALL spatial'); c.execute('LOAD spatial')"


class ToolSetupError(Exception):
    """The bqemulator venv could not be prepared; the message says which step failed."""


def isolated_environment(**overrides: str) -> dict[str, str]:
    """Our environment without what would leak our packages into the bqemulator venv's Python."""
    leaking = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    return {**{k: v for k, v in os.environ.items() if k not in leaking}, **overrides}


def default_tools_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("SPORTSFLOW_TOOLS_DIR", "~/.cache/sportsflow/tools")).expanduser()


@dataclass(frozen=True)
class BqEmulatorTools:
    """The bqemulator venv and its offline DuckDB HOME under one tools directory."""

    root: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "BqEmulatorTools":
        return cls(default_tools_dir(env))

    @property
    def venv(self) -> Path:
        return self.root / "bqemulator-venv"

    @property
    def home(self) -> Path:
        """HOME of the emulator process: holds `.duckdb/extensions/...`."""
        return self.root / "bqemulator-home"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / "bqemulator"

    @property
    def _marker(self) -> Path:
        return self.venv / "sportsflow-ready.json"

    def is_ready(self) -> bool:
        """True when a previous setup finished with today's requirements."""
        try:
            marker = json.loads(self._marker.read_text())
        except (OSError, ValueError):
            return False
        return (
            marker.get("requirements") == list(REQUIREMENTS)
            and self.executable.exists()
            and Path(marker.get("extension", "")).exists()
        )

    def ensure(self, progress: Progress = print) -> bool:
        """Prepare the venv and HOME unless already done. Returns True if work was done."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(self.root / "bqemulator.lock"):
            if self.is_ready():
                return False
            started = time.monotonic()
            self._create_venv(progress)
            self._install_requirements(progress)
            extension = self._install_spatial_extension(progress)
            self._check_offline_load(progress)
            self._marker.write_text(json.dumps({"requirements": list(REQUIREMENTS), "extension": str(extension)}))
            progress(f"bqemulator venv ready at {self.venv} ({time.monotonic() - started:.0f} s)")
            return True

    def _create_venv(self, progress: Progress) -> None:
        if self.python.exists():
            return
        progress(f"creating venv {self.venv}")
        _run([sys.executable, "-m", "venv", str(self.venv)], "create the venv")

    def _install_requirements(self, progress: Progress) -> None:
        progress(f"installing {' '.join(REQUIREMENTS)} (about 435 MB, takes a few minutes)")
        # Output is not captured: pip's own progress is the progress the user sees.
        _run([str(self.python), "-m", "pip", "install", "--disable-pip-version-check", *REQUIREMENTS],
             "pip install", capture=False)

    def _install_spatial_extension(self, progress: Progress) -> Path:
        described = json.loads(_run([str(self.python), "-c", _DESCRIBE_DUCKDB], "inspect duckdb"))
        if not described["extension_files"]:
            raise ToolSetupError("duckdb-extension-spatial installed no spatial.duckdb_extension file")
        target_dir = self.home / ".duckdb" / "extensions" / f"v{described['version']}" / described["platform"]
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / "spatial.duckdb_extension"
        progress(f"installing DuckDB spatial extension into {target_dir}")
        shutil.copy2(described["extension_files"][0], target)
        return target

    def _check_offline_load(self, progress: Progress) -> None:
        progress("checking that DuckDB loads spatial without downloading")
        _run([str(self.python), "-c", _LOAD_SPATIAL], "load the spatial extension offline",
             env=isolated_environment(HOME=str(self.home)))


def _run(argv: list[str], step: str, *, capture: bool = True, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(argv, capture_output=capture, text=True,
                            env=isolated_environment() if env is None else env)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout or "").strip()[-2000:] if capture else "see the output above"
        raise ToolSetupError(f"bqemulator setup failed to {step} (exit {result.returncode}): {detail}")
    return result.stdout if capture else ""


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """One setup at a time, even across processes (two `up`s started together)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
