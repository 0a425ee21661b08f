"""`sportsflow models train | list | current`: the prediction systems' model registry.

The prediction code (numpy, LightGBM) is imported inside the commands, so other commands start fast."""
from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table

from shared.bootstrap import Services
from shared.config import Settings

app = typer.Typer(no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _services(ctx: typer.Context) -> Services:
    settings: Settings = ctx.obj
    return Services(settings)


@app.command()
def train(ctx: typer.Context,
          through: datetime = typer.Option(..., formats=["%Y-%m-%d"],
                                           help="last date whose outcomes the models may learn from"),
          as_json: bool = typer.Option(False, "--json", help="print one JSON object")):
    """Train every system on the history through a date, store the artifacts, make them current."""
    from shared.predictions import model_registry
    from shared.predictions.systems import SYSTEMS
    from shared.predictions.training import NotEnoughHistory
    services = _services(ctx)
    try:
        with err.status(f"training {len(SYSTEMS)} systems on the history through {through.date()}"):
            result = model_registry.train(services, through.date())
    except NotEnoughHistory as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1)
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps({"through": result.through.isoformat(), "versions": result.versions,
                               "reused": result.reused, "current": result.current, "metrics": result.metrics},
                              indent=2))
        return
    table = Table("system", "version", "current", *(f"{m} MAE" for m in ("points", "rebounds", "assists", "threes")),
                  title=f"trained through {result.through}" + (" (already stored: reused)" if result.reused else ""))
    for system, version in result.versions.items():
        metrics = result.metrics[system]
        table.add_row(system, version, "yes" if result.current.get(system) == version else "no (a newer one is)",
                      *(str(metrics[m]["mae"]) for m in ("points", "rebounds", "assists", "threes")))
    out.print(table)
    out.print("MAE on the held-out last 20% of the training dates.")


@app.command("list")
def list_versions(ctx: typer.Context, system: str = typer.Option(None, help="only this system"),
                  as_json: bool = typer.Option(False, "--json")):
    """Every stored model version, oldest training first."""
    from shared.predictions import model_registry
    services = _services(ctx)
    try:
        versions = model_registry.list_versions(services, system)
        current = model_registry.current_versions(services)
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps(versions, indent=2, default=str))
        return
    table = Table("system", "version", "through", "rows", "points MAE", "current", "artifact")
    for v in versions:
        table.add_row(v["system"], v["version"], v["through"], str(v["training_rows"]),
                      str(v["metrics"]["points"]["mae"]), "✓" if current.get(v["system"]) == v["version"] else "",
                      v["key"])
    out.print(table)


@app.command()
def current(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")):
    """The version of each system workers load now (defaults or skipped before any training)."""
    from shared.predictions import model_registry
    from shared.predictions.systems import SYSTEMS, ModelSet
    services = _services(ctx)
    try:
        models = model_registry.load_current(services)
    finally:
        services.close()
    rows = {system: {"version": models.versions.get(system), "trained_through":
                     (str(models.trained_through[system]) if models.trained_through.get(system) else None),
                     "skipped": models.skipped.get(system)} for system in SYSTEMS}
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("system", "version", "trained through", "note")
    for system, row in rows.items():
        note = row["skipped"] or ("untrained defaults" if row["version"] == ModelSet.untrained().versions.get(
            system) else "")
        table.add_row(system, row["version"] or "—", row["trained_through"] or "—", note)
    out.print(table)
