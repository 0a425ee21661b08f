"""`sportsflow health [--json]`: every dependency with its status and latency; exits 1 naming what is down."""
from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from shared.bootstrap import Services
from shared.health import check_health

out = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command()(health)


def health(ctx: typer.Context,
           as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
           deadline: float = typer.Option(3.0, min=0.1, help="seconds each probe may take before it counts as down")):
    """Probe the bus, document store, warehouse, evidence store and each provider's circuit breaker."""
    from shared.pipeline.home import HomeNotFound, require_used_home

    if ctx.obj.backend == "local":
        try:  # a probe that creates what it probes cannot say that --home points nowhere
            require_used_home(ctx.obj.home)
        except HomeNotFound as error:
            err.print(f"[red]error:[/red] {error}")
            raise typer.Exit(2)
    services = Services(ctx.obj)
    report = check_health(services, deadline_s=deadline)
    if report.ok:  # a client of a stopped emulator can block in close(): the process exits instead
        services.close()
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        table = Table("dependency", "status", "latency ms", "detail")
        for dep in report.dependencies:
            colour = {"up": "green", "degraded": "yellow"}.get(dep.status, "red")
            table.add_row(dep.name, f"[{colour}]{dep.status}[/{colour}]",
                          "" if dep.latency_ms is None else f"{dep.latency_ms:.1f}", dep.detail)
        out.print(table)
    if not report.ok:
        err.print(f"[red]{report.summary()}[/red]")
        raise typer.Exit(1)

