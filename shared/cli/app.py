"""`sportsflow` — the command line. Each command is a thin shell over `shared`."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from shared.cli.lazy import lazy_typer, mount, mount_group
from shared.config import BACKENDS, ConfigError, Settings

app = lazy_typer(help="sportsflow: event-driven sports data pipelines on Google Cloud serverless.",
                 no_args_is_help=True, pretty_exceptions_show_locals=False)
console = Console()
Backend = Enum("Backend", {b: b for b in BACKENDS}, type=str)


@app.callback()
def root(ctx: typer.Context,
         backend: Backend = typer.Option(None, "--backend", "-b", envvar="SPORTSFLOW_BACKEND",
                                         help="adapter family: local (embedded, default), emulator, gcp"),
         home: Path = typer.Option(None, "--home", envvar="SPORTSFLOW_HOME",
                                   help="where embedded state and emulator endpoints live [default: ./.sportsflow]")):
    """Global options; every command reads its Settings from here."""
    overrides = {"backend": backend.value if backend else None, "home": home}
    try:
        ctx.obj = Settings.from_env(**overrides)
    except ConfigError as err:
        raise typer.BadParameter(str(err)) from None
    _log_to_file(ctx, ctx.obj.home / "logs" / "sportsflow.jsonl")


def _log_to_file(ctx: typer.Context, path: Path) -> None:
    """Structured JSON logs go to a file (stdout stays for results, stderr for progress)."""
    if ctx.resilient_parsing or ctx.invoked_subcommand in (None, "topology"):
        return
    from shared.observability.logging import configure_logging

    configure_logging(stream=ctx.with_resource(_OpenedOnFirstWrite(path)))


class _OpenedOnFirstWrite:
    """The log file, created with its folder only when a line is logged: a command that refuses a
    home (a typo in --home) must not create it just by starting."""

    def __init__(self, path: Path):
        self._path, self._file = path, None

    def write(self, text: str) -> int:
        if self._file is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self._path.open("a", encoding="utf-8")
        return self._file.write(text)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()


class TopologyFormat(str, Enum):
    table = "table"
    mermaid = "mermaid"
    json = "json"
    tfvars = "tfvars"


@app.command()
def topology(fmt: TopologyFormat = typer.Option(TopologyFormat.table, "--format", "-f",
                                                help="table, mermaid, json, or tfvars (Terraform variables)")):
    """Print the one topology: topics, subscriptions, functions, schedules, the Phase 4 graph."""
    from shared.runtime.handlers import is_implemented
    from shared.topology import TOPOLOGY, render

    if fmt is TopologyFormat.table:
        implemented = {fn.name: is_implemented(fn) for fn in TOPOLOGY.functions}
        console.print(render.as_tables(TOPOLOGY, implemented))
        console.print("\n[bold]Mermaid[/bold] (paste into any Mermaid renderer):\n")
        console.print(render.as_mermaid(TOPOLOGY), markup=False, highlight=False)
    elif fmt is TopologyFormat.mermaid:
        typer.echo(render.as_mermaid(TOPOLOGY), nl=False)
    elif fmt is TopologyFormat.json:
        typer.echo(render.as_json(TOPOLOGY))
    else:
        typer.echo(json.dumps(render.as_terraform_variables(TOPOLOGY), indent=2, sort_keys=True))


# Every command group is imported only when it runs (shared/cli/lazy.py): mount a module with ONE line,
# `mount(app, "shared.cli.<yours>", "<command>", ...)` naming every command its `register(app)` adds,
# or `mount_group(app, "<name>", "shared.cli.<yours>", help=...)` for a module-level typer `app`.
# An eager `register_x(app)` still works but makes every command pay for importing it.
mount(app, "shared.cli.pipeline", "run", "backfill", "status", "reconcile", "release")
mount(app, "shared.cli.serve", "serve")
mount(app, "shared.cli.package", "package")
mount(app, "shared.cli.validation", "validate", "validation")
mount(app, "shared.cli.evidence", "evidence")
mount_group(app, "emulators", "shared.cli.emulators", help="Start, stop and inspect the local Google emulators.")
mount(app, "shared.cli.live", "live")
mount_group(app, "models", "shared.cli.models", help="Train, list and inspect the prediction systems' model versions.")
mount(app, "shared.cli.evaluate", "evaluate")
mount(app, "shared.cli.executions", "executions", "leaderboard")
mount(app, "shared.cli.ingest", "ingest")
mount(app, "shared.cli.dev", "dev")
mount(app, "shared.cli.dlq", "dlq")
mount(app, "shared.cli.backup", "backup", "rebuild")
mount(app, "shared.cli.health", "health")
mount(app, "shared.cli.console", "console")
mount(app, "shared.cli.alerts", "alerts")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
