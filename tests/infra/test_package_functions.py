"""scripts/package_functions.py: one deterministic, self-contained source zip per function."""
from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import hcl2
import pytest
from hcl2 import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("package_functions", REPO_ROOT / "scripts" / "package_functions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


packaging = _load_script()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def functions_dir(tmp_path) -> Path:
    """Two functions in the shapes other people write them, and a folder that is not one."""
    root = tmp_path / "functions"
    write(root / "alpha" / "main.py", "from shared.runtime.entrypoints import pubsub_entry_point\n"
                                      "handle = pubsub_entry_point('alpha')\n")
    write(root / "beta" / "main.py", "def handle(request):\n    return 'ok'\n")
    write(root / "beta" / "helpers.py", "X = 1\n")
    write(root / "beta" / "__pycache__" / "main.cpython-311.pyc", "compiled")
    write(root / "gamma" / "README.md", "not a function: no main.py\n")
    return root


def package(functions_dir: Path, out: Path) -> dict[str, str]:
    return packaging.package_all(REPO_ROOT, out, functions_dir)


def entries(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_one_zip_per_function_with_main_at_the_root_and_the_shared_package(functions_dir, tmp_path):
    objects = package(functions_dir, tmp_path / "dist")
    assert set(objects) == {"alpha", "beta"}
    beta = entries(tmp_path / "dist" / objects["beta"])
    assert beta["main.py"] == (functions_dir / "beta" / "main.py").read_bytes()
    assert beta["helpers.py"] == b"X = 1\n"
    shared_sources = {f"shared/{p.relative_to(REPO_ROOT / 'shared').as_posix()}"
                      for p in (REPO_ROOT / "shared").rglob("*.py") if "__pycache__" not in p.parts}
    assert shared_sources <= set(beta)
    assert not [name for name in beta if "__pycache__" in name or name.endswith(".pyc")]


def test_requirements_are_the_hash_pinned_lock(functions_dir, tmp_path):
    objects = package(functions_dir, tmp_path / "dist")
    requirements = entries(tmp_path / "dist" / objects["alpha"])["requirements.txt"].decode()
    assert requirements == (REPO_ROOT / "requirements-functions.lock").read_text()  # the hash-pinned lock


def test_zips_are_deterministic(functions_dir, tmp_path):
    first = package(functions_dir, tmp_path / "one")
    os.utime(functions_dir / "alpha" / "main.py", (1_000_000_000, 1_000_000_000))
    second = package(functions_dir, tmp_path / "two")
    assert first == second
    for name in first.values():
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    with zipfile.ZipFile(tmp_path / "one" / first["alpha"]) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {packaging.ZIP_EPOCH}


def test_changed_code_changes_only_that_functions_object_name(functions_dir, tmp_path):
    before = package(functions_dir, tmp_path / "dist")
    write(functions_dir / "beta" / "helpers.py", "X = 2\n")
    after = package(functions_dir, tmp_path / "dist")
    assert after["alpha"] == before["alpha"]
    assert after["beta"] != before["beta"]
    assert sorted(p.name for p in (tmp_path / "dist").glob("beta-*.zip")) == [after["beta"]], "stale zip kept"


def test_object_names_carry_the_zip_hash(functions_dir, tmp_path):
    objects = package(functions_dir, tmp_path / "dist")
    data = (tmp_path / "dist" / objects["alpha"]).read_bytes()
    assert objects["alpha"] == f"alpha-{hashlib.sha256(data).hexdigest()[:packaging.HASH_CHARS]}.zip"


def test_manifest_feeds_the_terraform_variable(functions_dir, tmp_path):
    objects = package(functions_dir, tmp_path / "dist")
    manifest = json.loads((tmp_path / "dist" / packaging.MANIFEST).read_text())
    assert manifest == {"function_source_objects": objects}
    variables = hcl2.load((REPO_ROOT / "infra" / "variables.tf").open(),
                          serialization_options=SerializationOptions(strip_string_quotes=True,
                                                                     explicit_blocks=False))
    declared = {name for block in variables["variable"] for name in block}
    assert set(manifest) <= declared
    assert f"dist/{packaging.MANIFEST}" in (REPO_ROOT / "scripts" / "build_step.sh").read_text()


def test_a_function_without_the_handle_entry_point_is_refused(functions_dir, tmp_path):
    write(functions_dir / "alpha" / "main.py", "def main(request):\n    return 'ok'\n")
    with pytest.raises(packaging.PackagingError, match="does not define `handle`"):
        package(functions_dir, tmp_path / "dist")


def test_a_function_cannot_shadow_shared_or_the_requirements(functions_dir, tmp_path):
    write(functions_dir / "beta" / "requirements.txt", "requests\n")
    with pytest.raises(packaging.PackagingError, match="requirements.txt"):
        package(functions_dir, tmp_path / "dist")


def test_the_zip_is_self_contained(functions_dir, tmp_path):
    """Unpacked alone, main.py imports `shared` from the zip, not from this checkout."""
    objects = package(functions_dir, tmp_path / "dist")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(io.BytesIO((tmp_path / "dist" / objects["beta"]).read_bytes())) as archive:
        archive.extractall(unpacked)
    result = subprocess.run([sys.executable, "-c", "import main, shared; print(shared.__file__, main.handle(None))"],
                            cwd=unpacked, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(unpacked / "shared"))
    assert result.stdout.strip().endswith("ok")


def test_command_line(functions_dir, tmp_path, capsys):
    out = tmp_path / "dist"
    assert packaging.main(["--out", str(out), "--functions", str(functions_dir)]) == 0
    printed = capsys.readouterr().out
    assert "alpha: " in printed and packaging.MANIFEST in printed
    write(functions_dir / "beta" / "main.py", "x = 1\n")
    assert packaging.main(["--out", str(out), "--functions", str(functions_dir)]) == 1
    assert "beta" in capsys.readouterr().err
