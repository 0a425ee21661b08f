"""`sportsflow executions list|show|cancel`: the execution records of commands (SPEC §4)."""
from __future__ import annotations

import getpass
import json

import typer

from shared.bootstrap import Services
from shared.executions.admin import show as show_execution
from shared.executions.commands import cancel as cancel_execution
from shared.executions.state import STATES, ExecutionNotFound, ExecutionStore, IllegalTransition

app = typer.Typer(help="Executions of commands: list, show (with the step log), cancel.", no_args_is_help=True)


@app.command("list")
def list_(ctx: typer.Context, status: str = typer.Option(None, help=f"one of {', '.join(STATES)}"),
          job_type: str = typer.Option(None, "--job-type"), limit: int = typer.Option(50, min=1, max=1000)):
    """Executions, newest first."""
    services = Services(ctx.obj)
    try:
        for execution in ExecutionStore(services.documents).list(status=status, job_type=job_type, limit=limit):
            typer.echo(json.dumps(execution.as_dict()))
    finally:
        services.close()


@app.command()
def show(ctx: typer.Context, execution_id: str):
    """One execution with its step log."""
    services = Services(ctx.obj)
    try:
        typer.echo(json.dumps(show_execution(ExecutionStore(services.documents), execution_id), indent=1,
                              default=str))
    except ExecutionNotFound as missing:
        typer.echo(str(missing), err=True)
        raise typer.Exit(1)
    finally:
        services.close()


@app.command()
def cancel(ctx: typer.Context, execution_id: str):
    """Cancel a queued or running execution (audited under your user name)."""
    services = Services(ctx.obj)
    try:
        execution = cancel_execution(services, execution_id, who=f"cli:{getpass.getuser()}")
        typer.echo(json.dumps(execution.as_dict()))
    except (ExecutionNotFound, IllegalTransition) as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(1)
    finally:
        services.close()


def register(root: typer.Typer) -> None:
    """Mount `executions` and `leaderboard` on the root command."""
    from shared.cli.leaderboard import app as leaderboard_app
    root.add_typer(app, name="executions")
    root.add_typer(leaderboard_app, name="leaderboard")
