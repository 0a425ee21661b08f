"""`sportsflow emulators up|down|status|setup`: the local Google stand-ins for tests and local runs."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from shared.config import Settings
from shared.emulators import (
    SERVICES, BqEmulatorTools, EmulatorStartError, EmulatorStatus, EmulatorUnavailable, ToolSetupError,
    emulator_status, start_emulators, stop_emulators,
)

app = typer.Typer(help="Start, stop and inspect the local Google emulators.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
console = Console()
_ONLY_HELP = f"comma-separated subset of: {', '.join(SERVICES)} [default: all]"


@app.callback()
def emulators(ctx: typer.Context,
              home: Path = typer.Option(None, "--home", help="where the env file, state and logs live "
                                                             "[default: $SPORTSFLOW_HOME or ./.sportsflow]")):
    """Settings come from the root `sportsflow` command when mounted there, else from the environment."""
    if home is not None:
        ctx.obj = replace(ctx.obj, home=home) if isinstance(ctx.obj, Settings) else Settings.from_env(home=home)
    elif not isinstance(ctx.obj, Settings):
        ctx.obj = Settings.from_env()


def _progress(message: str) -> None:
    console.print(f"[dim]{message}[/dim]")


@app.command()
def up(ctx: typer.Context,
       only: str = typer.Option(None, "--only", help=_ONLY_HELP),
       timeout: float = typer.Option(None, "--timeout", help="seconds each service may take to answer")):
    """Start the emulators (idempotent: running ones are kept, dead ones restarted) and write the env file."""
    settings: Settings = ctx.obj
    try:
        start_emulators(settings, only, timeout=timeout, progress=_progress)
    except (ValueError, EmulatorUnavailable, ToolSetupError) as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None
    except EmulatorStartError as err:
        console.print(f"[red]{err}[/red]", markup=False, highlight=False)
        _print_status(settings)
        raise typer.Exit(1) from None
    _print_status(settings)
    console.print(f"endpoints written to [bold]{settings.emulator_env_file}[/bold]")


@app.command()
def down(ctx: typer.Context, only: str = typer.Option(None, "--only", help=_ONLY_HELP)):
    """Stop the recorded emulators (whole process groups) and remove the env file."""
    stopped = stop_emulators(ctx.obj, only, progress=_progress)
    console.print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status(ctx: typer.Context):
    """Show which recorded emulators are alive and answering. Exit code 1 if any is not (or none is recorded)."""
    statuses = _print_status(ctx.obj)
    if not statuses:
        console.print("no emulators recorded: run `sportsflow emulators up`")
    if not statuses or not all(s.answering for s in statuses):
        raise typer.Exit(1)


@app.command()
def setup():
    """Only prepare bqemulator's own venv and offline DuckDB HOME (slow once, instant afterwards)."""
    tools = BqEmulatorTools.from_env()
    try:
        did_work = tools.ensure(progress=_progress)
    except ToolSetupError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from None
    console.print(f"bqemulator venv {'prepared' if did_work else 'already prepared'} at {tools.venv}")


def _print_status(settings: Settings):
    statuses = emulator_status(settings)
    if not statuses:
        return statuses
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("service", "endpoint", "pid", "start-up s", "state"):
        table.add_column(column, no_wrap=True)
    for s in statuses:
        table.add_row(s.service, s.endpoint, str(s.pid), f"{s.startup_seconds:.2f}", _state(s))
    console.print(table)
    return statuses


def _state(status: EmulatorStatus) -> str:
    if status.answering:
        return "[green]answering[/green]"
    return "[yellow]alive, not answering[/yellow]" if status.alive else "[red]dead[/red]"


if __name__ == "__main__":
    app()
