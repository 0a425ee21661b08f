"""Write the functions' hash-pinned lock file: only what deployed code imports.

    python scripts/lock_function_requirements.py            # (re)write requirements-functions.lock
    python scripts/lock_function_requirements.py --check    # exit 1 when the lock's inputs are stale
    python scripts/lock_function_requirements.py --audit    # pip-audit the lock (says when it cannot)

Deployed code is what the entry points and the topology's handlers import, transitively (lazy
imports too), without the CLI, the emulator harness and the local and AWS adapters (the
functions run on the gcp backend). Its third-party imports are matched to the
pyproject.toml dependencies that provide them (in the installed environment); those, with
their pyproject specifiers, are resolved by pip (`pip install --dry-run --report`) for this
interpreter — run it on CPython 3.11 / linux x86_64, as Cloud Functions' python311 — and each
resolved file is pinned with its SHA-256, so `pip install --require-hashes` installs exactly
these files. The lock's header lists its inputs; `--check` needs no network.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = "requirements-functions.lock"
NOT_DEPLOYED = ("shared/cli/", "shared/emulators/", "shared/adapters/local/", "shared/adapters/aws/")
INPUTS_MARK = "# inputs: "
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def deployed_imports(root: Path = ROOT) -> set[str]:
    """Dotted third-party module names that the functions' code imports (lazy imports too): the
    modules reachable from the entry points and every topology handler, without the parts a
    deployed (gcp) function never runs."""
    sys.path.insert(0, str(root))
    from shared.topology import TOPOLOGY

    todo = ["shared.runtime.entrypoints", *(fn.handler.split(":")[0] for fn in TOPOLOGY.functions)]
    seen: set[str] = set()
    third_party: set[str] = set()
    while todo:
        module = todo.pop()
        path = _module_path(root, module)
        if module in seen or path is None or path.relative_to(root).as_posix().startswith(NOT_DEPLOYED):
            continue
        seen.add(module)
        for name in _imports_of(path, module):
            if name.split(".")[0] == "shared":
                todo.append(name)
            elif name.split(".")[0] not in sys.stdlib_module_names:
                third_party.add(name)
    return third_party


def _module_path(root: Path, module: str) -> Path | None:
    base = root / Path(*module.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.exists()), None)


def _imports_of(path: Path, module: str) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def provided_modules(distribution: str) -> set[str]:
    """The packages and modules an installed distribution provides, as dotted names."""
    provided = set()
    for file in metadata.distribution(distribution).files or ():
        parts = file.parts
        if not parts or parts[0].endswith((".dist-info", ".data")) or ".." in parts \
                or file.suffix not in (".py", ".so", ""):
            continue
        if file.name == "__init__.py":
            provided.add(".".join(parts[:-1]))
        elif file.suffix == ".py" and len(parts) == 1:
            provided.add(file.stem)
    # keep the shallowest package of each tree (google/cloud/pubsub, not google/cloud/pubsub/types)
    return {name for name in provided if not any(name.startswith(other + ".") for other in provided)}


def function_requirements(root: Path = ROOT) -> list[str]:
    """The pyproject.toml dependencies (with their specifiers) that deployed code imports."""
    imported = deployed_imports(root)
    chosen = []
    for requirement in tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]:
        name = _NAME.match(requirement).group(1)
        modules = provided_modules(name)
        if any(module == m or module.startswith(m + ".") for module in imported for m in modules):
            chosen.append(requirement)
    return chosen


def lock_inputs(lock_text: str) -> list[str]:
    line = next((line for line in lock_text.splitlines() if line.startswith(INPUTS_MARK)), INPUTS_MARK)
    return [item for item in line.removeprefix(INPUTS_MARK).split("; ") if item]


def write_lock(root: Path = ROOT) -> Path:
    requirements = function_requirements(root)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "requirements.in"
        source.write_text("".join(f"{r}\n" for r in requirements))
        report = Path(scratch) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
                        "--report", str(report), "--requirement", str(source)], check=True)
        resolved = json.loads(report.read_text())["install"]
    lines = [f"{item['metadata']['name'].lower()}=={item['metadata']['version']} \\\n"
             f"    --hash=sha256:{item['download_info']['archive_info']['hashes']['sha256']}\n"
             for item in sorted(resolved, key=lambda item: item["metadata"]["name"].lower())]
    header = ("# The deployed functions' runtime dependencies, hash-pinned (pip install --require-hashes).\n"
              "# generated by scripts/lock_function_requirements.py: do not edit, re-run it.\n"
              f"# resolved by pip for CPython {sys.version_info.major}.{sys.version_info.minor} on {sys.platform} "
              f"(Cloud Functions python311 is CPython 3.11 on linux x86_64)\n"
              f"{INPUTS_MARK}{'; '.join(requirements)}\n")
    (root / LOCK).write_text(header + "".join(lines))
    return root / LOCK


def _pip_audit() -> list[str]:
    found = shutil.which("pip-audit")
    return [found] if found else [sys.executable, "-m", "pip_audit"]


def check(root: Path = ROOT) -> list[str]:
    """Why the checked-in lock is stale or unsafe (empty: fine)."""
    lock = root / LOCK
    if not lock.exists():
        return [f"{LOCK} is missing: run scripts/lock_function_requirements.py"]
    text = lock.read_text()
    problems = []
    if lock_inputs(text) != function_requirements(root):
        problems.append(f"{LOCK} was made for {lock_inputs(text)}, the functions now import "
                        f"{function_requirements(root)}: re-run scripts/lock_function_requirements.py")
    pins = pinned_packages(text)
    unhashed = [name for name, (_version, hashes) in pins.items() if not hashes]
    if unhashed:
        problems.append(f"{LOCK}: no hashes for {unhashed}")
    return problems


def pinned_packages(lock_text: str) -> dict[str, tuple[str, int]]:
    """{name: (version, number of hashes)} of the lock's requirements."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in lock_text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line)
        if match:
            current = match.group(1).lower()
            pins[current] = (match.group(2), 0)
        elif current and "--hash=sha256:" in line:
            version, count = pins[current]
            pins[current] = (version, count + 1)
    return pins


def audit(root: Path = ROOT) -> int:
    """pip-audit the lock; 0 clean, 1 advisories found, 2 no advisory source reachable."""
    command = [*_pip_audit(), "--requirement", str(root / LOCK), "--require-hashes",
               "--disable-pip", "--progress-spinner", "off"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        print("pip-audit is not installed: pip install pip-audit", file=sys.stderr)
        return 2
    output = result.stdout + result.stderr
    pinned = len(pinned_packages((root / LOCK).read_text()))
    unaudited = len(re.findall(r"could not be audited", output))
    unreachable = re.search(r"ConnectionError|Max retries|Name or service not known|Failed to establish|"
                            r"timed out|Temporary failure", output)
    if unaudited >= pinned or (result.returncode != 0 and unreachable):
        print(f"pip-audit: NO ADVISORY SOURCE REACHABLE (PyPI/OSV): {unaudited} of {pinned} packages could not "
              f"be looked up, so the lock was NOT audited (\"No known vulnerabilities\" would mean nothing).\n"
              "Run `python scripts/lock_function_requirements.py --audit` where pypi.org or osv.dev is reachable.",
              file=sys.stderr)
        return 2
    print(output)
    if unaudited:
        print(f"pip-audit: {unaudited} of {pinned} packages could not be looked up: PARTLY AUDITED", file=sys.stderr)
        return 2
    return 0 if result.returncode == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the lock is stale (no network)")
    parser.add_argument("--audit", action="store_true", help="pip-audit the lock")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) or f"{LOCK} is up to date", file=sys.stderr if problems else sys.stdout)
        return 1 if problems else 0
    if args.audit:
        return audit()
    lock = write_lock()
    print(f"{lock}: {len(pinned_packages(lock.read_text()))} packages, hash-pinned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
