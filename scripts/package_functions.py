"""Build one deployable source zip per function, named by its content hash.

Each zip holds `functions/<name>/` at its root (so `main.py` is at the root, as Cloud
Functions expects), the `shared/` package, and a `requirements.txt` that is the hash-pinned
lock `requirements-functions.lock` (scripts/lock_function_requirements.py). Zips are
deterministic (sorted entries, fixed timestamps and permissions), so unchanged code gives the
same bytes, the same hash and the same object name, and Terraform redeploys only the functions that changed.

    python scripts/package_functions.py --out dist/

writes `dist/<name>-<sha256 prefix>.zip` for every `functions/<name>/main.py`, and
`dist/function_sources.tfvars.json` (`{"function_source_objects": {name: object}}`) for
`terraform plan -var-file=...`. Standard library only: runs before anything is installed.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

ENTRY_POINT = "handle"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
FILE_MODE = 0o100644
HASH_CHARS = 16
MANIFEST = "function_sources.tfvars.json"
REQUIREMENTS = "requirements.txt"
LOCK = "requirements-functions.lock"
SHARED_PACKAGE = "shared"
_SKIPPED_DIRS = {"__pycache__"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}


class PackagingError(Exception):
    """A function cannot be packaged; the message says which and why."""


def locked_requirements(root: Path) -> str:
    """The hash-pinned lock of what the functions import (scripts/lock_function_requirements.py):
    Cloud Functions' build then installs exactly those files, or fails."""
    lock = root / LOCK
    if not lock.exists():
        raise PackagingError(f"{LOCK} is missing: run python scripts/lock_function_requirements.py")
    return lock.read_text()


def tree_files(directory: Path, prefix: str = "") -> dict[str, bytes]:
    """Every file under `directory` as {archive name: bytes}, without caches or hidden files."""
    files: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if not path.is_file() or _skipped(relative):
            continue
        files[prefix + relative.as_posix()] = path.read_bytes()
    return files


def _skipped(relative: Path) -> bool:
    return (any(part in _SKIPPED_DIRS or part.startswith(".") for part in relative.parts)
            or relative.suffix in _SKIPPED_SUFFIXES)


def deterministic_zip(entries: dict[str, bytes]) -> bytes:
    """A zip whose bytes depend only on the entries' names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # unix, whatever machine builds it
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def function_entries(function_dir: Path, shared_dir: Path, requirements: str) -> dict[str, bytes]:
    own = tree_files(function_dir)
    _check_entry_point(function_dir.name, own.get("main.py", b""))
    clashes = sorted(name for name in own if name == REQUIREMENTS or name.startswith(f"{SHARED_PACKAGE}/"))
    if clashes:
        raise PackagingError(f"functions/{function_dir.name} must not contain {', '.join(clashes)}: "
                             f"the package adds {SHARED_PACKAGE}/ and {REQUIREMENTS} (from pyproject.toml)")
    return {**own, **tree_files(shared_dir, prefix=f"{SHARED_PACKAGE}/"), REQUIREMENTS: requirements.encode()}


def _check_entry_point(function: str, main_source: bytes) -> None:
    """Terraform deploys entry point `handle`: fail here rather than at deploy time."""
    tree = ast.parse(main_source, filename=f"functions/{function}/main.py")
    defined = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            defined.update(alias.asname or alias.name for alias in node.names)
    if ENTRY_POINT not in defined:
        raise PackagingError(f"functions/{function}/main.py does not define `{ENTRY_POINT}`, "
                             f"the entry point every function is deployed with")


def object_name(function: str, archive: bytes) -> str:
    return f"{function}-{hashlib.sha256(archive).hexdigest()[:HASH_CHARS]}.zip"


def function_dirs(functions_root: Path) -> list[Path]:
    return sorted(main.parent for main in functions_root.glob("*/main.py"))


def package_all(root: Path, out: Path, functions_root: Path | None = None) -> dict[str, str]:
    """Zip every function under `functions_root` (default `root/functions`) into `out`;
    returns {function: object name}."""
    requirements = locked_requirements(root)
    out.mkdir(parents=True, exist_ok=True)
    objects: dict[str, str] = {}
    for function_dir in function_dirs(functions_root or root / "functions"):
        archive = deterministic_zip(function_entries(function_dir, root / SHARED_PACKAGE, requirements))
        name = function_dir.name
        for stale in out.glob(f"{name}-*.zip"):
            stale.unlink()
        objects[name] = object_name(name, archive)
        (out / objects[name]).write_bytes(archive)
    manifest = {"function_source_objects": objects}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return objects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("dist"), help="where zips and the manifest go")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="repository root holding shared/ and pyproject.toml")
    parser.add_argument("--functions", type=Path, default=None,
                        help="directory of <name>/main.py function folders [default: <root>/functions]")
    args = parser.parse_args(argv)
    try:
        objects = package_all(args.root, args.out, args.functions)
    except PackagingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not objects:
        print(f"warning: no <name>/main.py under {args.functions or args.root / 'functions'}", file=sys.stderr)
    for function, name in objects.items():
        print(f"{function}: {args.out / name}")
    print(f"manifest: {args.out / MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
