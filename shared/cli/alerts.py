"""`sportsflow alerts check [--json]`: every alert rule on the stored metrics over its window; each
firing episode announced once through the notifier; exits 1 when any rule fires.

local and emulator backends keep their points in the home's metrics store; on gcp Cloud Monitoring
evaluates the same rules as the alert policies of infra/monitoring.tf: exit 2, naming them."""
from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from shared.bootstrap import Services
from shared.config import ConfigError
from shared.metrics.alerting import check_stored_alerts, cloud_monitoring_policies
from shared.metrics.recorder import stores_points

out = Console()
app = typer.Typer(help="Evaluate the alert rules on the stored metrics (shared/metrics/rules.py).")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="alerts")


@app.command()
def check(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print one JSON object")):
    """Evaluate every rule; announce new firing episodes (once each); exit 1 when any fires."""
    if not stores_points(ctx.obj):
        typer.echo(cloud_monitoring_policies(), err=True)
        raise typer.Exit(2)
    services = Services(ctx.obj)
    try:
        result = check_stored_alerts(services)
    except ConfigError as err:  # the emulator backend without running emulators
        typer.echo(f"cannot check the alerts: {err}", err=True)
        raise typer.Exit(2) from None
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
    elif result.firing:
        table = Table("rule", "severity", "detail")
        for alert in result.firing:
            table.add_row(alert.rule, alert.severity, alert.detail)
        out.print(table)
        out.print(f"announced {len(result.announced)} new episode(s); {len(result.failed)} notice(s) failed")
    else:
        out.print("no alert rule fires" + (f"; resolved: {', '.join(result.resolved)}" if result.resolved else ""))
    if result.firing:
        raise typer.Exit(1)
