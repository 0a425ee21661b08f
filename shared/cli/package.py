"""`sportsflow package [--out DIR]`: every function's deployable source zip and the Terraform map of them.

The packaging itself is scripts/package_functions.py (standard library only, so Cloud Build runs it
before anything is installed); this command runs the same code from the checkout it belongs to.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import typer
from rich.console import Console

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "package_functions.py"
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command(name="package")(package)


def packaging_script() -> ModuleType:
    if not SCRIPT.exists():
        err.print(f"[red]{SCRIPT} not found: `sportsflow package` runs from a checkout of the repository[/red]")
        raise typer.Exit(2)
    spec = importlib.util.spec_from_file_location("package_functions", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def package(out: Path = typer.Option(Path("dist"), "--out", help="where the zips and the manifest go"),
            functions: Path = typer.Option(None, "--functions",
                                           help="directory of <name>/main.py folders [default: functions/]")):
    """Build one deterministic zip per function (main.py at the root, shared/, requirements.txt) into
    DIR, named by content hash, and DIR/function_sources.tfvars.json for `terraform plan -var-file`."""
    script = packaging_script()
    try:
        objects = script.package_all(REPO_ROOT, out, functions)
    except script.PackagingError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    if not objects:
        err.print(f"[red]no <name>/main.py under {functions or REPO_ROOT / 'functions'}[/red]")
        raise typer.Exit(1)
    for function, name in objects.items():
        print(f"{function}: {out / name}")
    print(f"manifest: {out / script.MANIFEST} ({len(objects)} functions)")
