"""Every function's package, as Cloud Functions installs it: `pip install -r requirements.txt` into a
clean virtualenv (no system site-packages, no PYTHONPATH, not this checkout), then `main.handle`
imported from the unpacked zip, which resolves the topology handler and so imports its dependencies.

One venv per distinct requirements.txt (today one for all), built from nothing but that file and kept
in `$SPORTSFLOW_PACKAGE_VENVS` (default `~/.cache/sportsflow/package-venvs`) under the hash of the
requirements and the Python version: the first run pip-installs (minutes on a loaded machine), later
runs only import. A half-built venv is rebuilt. Marked `packaging` (`-m "not packaging"` leaves it
out); it runs in CI. Without a package index it skips by hand and fails under SPORTSFLOW_REQUIRE_DATA=1.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.cli.app import app
from shared.topology import TOPOLOGY

pytestmark = pytest.mark.packaging
REPO_ROOT = Path(__file__).resolve().parents[2]

IMPORT_ENTRY_POINT = """
import json, sys, main, shared
from shared.topology import TOPOLOGY
handler_module = TOPOLOGY.function(sys.argv[1]).handler.partition(":")[0]
print(json.dumps({"shared": shared.__file__, "handle": callable(main.handle), "prefix": sys.prefix,
                  "handler": sys.modules[handler_module].__file__}))
"""
COMPLETE = ".complete"


def clean_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items()
            if not key.startswith(("PYTHON", "VIRTUAL_ENV", "SPORTSFLOW_", "PIP_REQUIRE"))}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("dist")
    result = CliRunner().invoke(app, ["--home", str(out / "home"), "package", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "function_sources.tfvars.json").read_text())["function_source_objects"]
    return out, manifest


def venv_for(requirements: bytes) -> Path:
    """The python of a clean venv with exactly these requirements installed (built once)."""
    key = hashlib.sha256(requirements + sys.version.encode()).hexdigest()[:16]
    root = Path(os.environ.get("SPORTSFLOW_PACKAGE_VENVS", "~/.cache/sportsflow/package-venvs")).expanduser() / key
    if not (root / COMPLETE).exists():
        make_venv(root, requirements)
        (root / COMPLETE).write_text("built from requirements.txt alone\n")
    return root / "bin" / "python"


def make_venv(root: Path, requirements: bytes) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    python = root / "bin" / "python"
    (root / "requirements.txt").write_bytes(requirements)
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(root / "requirements.txt")],
                             capture_output=True, text=True, timeout=1200, env=clean_environment())
    if install.returncode != 0:
        missing = f"pip could not install the functions' requirements.txt: {install.stderr.strip()[-800:]}"
        if os.environ.get("SPORTSFLOW_REQUIRE_DATA") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    return python


@pytest.fixture(scope="module")
def unpacked(packaged, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """{function: (its unpacked source directory, the python of the clean venv its requirements made)}."""
    out, manifest = packaged
    root = tmp_path_factory.mktemp("functions")
    pythons: dict[bytes, Path] = {}
    found = {}
    for function, object_name in manifest.items():
        source = root / function
        with zipfile.ZipFile(out / object_name) as archive:
            archive.extractall(source)
        requirements = (source / "requirements.txt").read_bytes()
        if requirements not in pythons:
            pythons[requirements] = venv_for(requirements)
        found[function] = (source, pythons[requirements])
    return found


def import_entry_point(source: Path, python: Path, function: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-s", "-c", IMPORT_ENTRY_POINT, function], cwd=source,
                          capture_output=True, text=True, timeout=300, env=clean_environment())


def test_every_topology_function_is_packaged(packaged):
    _, manifest = packaged
    assert set(manifest) == {f.name for f in TOPOLOGY.functions}


def test_every_package_imports_its_entry_point_in_a_clean_venv(unpacked):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(unpacked, pool.map(lambda f: import_entry_point(*unpacked[f], f), unpacked)))
    failed = {function: result.stderr.strip()[-600:] for function, result in results.items() if result.returncode}
    assert not failed, f"entry points that do not import from their package: {failed}"
    for function, result in results.items():
        source, python = unpacked[function]
        imported = json.loads(result.stdout.strip().splitlines()[-1])
        assert imported["handle"], function
        assert Path(imported["shared"]).is_relative_to(source), f"{function} imported shared from {imported['shared']}"
        assert Path(imported["handler"]).is_relative_to(source), f"{function}'s handler: {imported['handler']}"
        assert Path(imported["prefix"]) == python.parent.parent
        assert not Path(imported["shared"]).is_relative_to(REPO_ROOT)


def test_the_clean_venv_really_lacks_this_checkout(unpacked, tmp_path):
    """Without the package's own shared/, the import fails: the venv does not see this repository."""
    _, python = next(iter(unpacked.values()))
    (tmp_path / "main.py").write_text("from shared.runtime.entrypoints import http_entry_point\n")
    result = import_entry_point(tmp_path, python, "reconciler")
    assert result.returncode != 0 and "No module named 'shared'" in result.stderr
    test_only = subprocess.run([str(python), "-s", "-c", "import hcl2"], capture_output=True, text=True,
                               env=clean_environment(), cwd=tmp_path)
    assert "No module named 'hcl2'" in test_only.stderr, "the venv sees more than the requirements"


def test_an_entry_point_that_does_not_import_fails(unpacked, tmp_path):
    source, python = unpacked["reconciler"]
    broken = tmp_path / "reconciler"
    subprocess.run(["cp", "-r", str(source), str(broken)], check=True)
    (broken / "main.py").write_text("from shared.runtime.entrypoints import no_such_entry_point\n")
    assert import_entry_point(broken, python, "reconciler").returncode != 0


def test_package_command_refuses_a_function_without_an_entry_point(tmp_path):
    (tmp_path / "functions" / "broken").mkdir(parents=True)
    (tmp_path / "functions" / "broken" / "main.py").write_text("x = 1\n")
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "package", "--out", str(tmp_path / "dist"),
                                      "--functions", str(tmp_path / "functions")])
    assert result.exit_code == 1
    assert "does not define `handle`" in result.output
