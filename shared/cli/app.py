"""`sportsflow` — the command line. Each command is a thin shell over `shared`."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from shared.cli.backup import register as register_backup_commands
from shared.cli.console import register as register_console_command
from shared.cli.dev import register as register_dev_commands
from shared.cli.dlq import register as register_dlq_commands
from shared.cli.emulators import app as emulators_app
from shared.cli.evaluate import register as register_evaluate_command
from shared.cli.evidence import register as register_evidence_commands
from shared.cli.executions import register as register_executions_commands
from shared.cli.health import register as register_health_command
from shared.cli.ingest import register as register_ingest_command
from shared.cli.live import register as register_live_commands
from shared.cli.models import app as models_app
from shared.cli.package import register as register_package_command
from shared.cli.pipeline import register as register_pipeline_commands
from shared.cli.serve import register as register_serve_command
from shared.cli.validation import register as register_validation_commands
from shared.config import BACKENDS, ConfigError, Settings
from shared.observability.logging import configure_logging
from shared.runtime.handlers import is_implemented
from shared.topology import TOPOLOGY, render

app = typer.Typer(help="sportsflow: event-driven sports data pipelines on Google Cloud serverless.",
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


register_pipeline_commands(app)
register_serve_command(app)
register_package_command(app)
register_validation_commands(app)
register_evidence_commands(app)
app.add_typer(emulators_app, name="emulators", help="Start, stop and inspect the local Google emulators.")
register_live_commands(app)
app.add_typer(models_app, name="models", help="Train, list and inspect the prediction systems' model versions.")
register_evaluate_command(app)
register_executions_commands(app)
register_ingest_command(app)
register_dev_commands(app)
register_dlq_commands(app)
register_backup_commands(app)
register_health_command(app)
register_console_command(app)
__import__("shared.cli.alerts", fromlist=["register"]).register(app)  # sportsflow alerts


def main() -> None:
    app()


if __name__ == "__main__":
    main()
