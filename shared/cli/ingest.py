"""`sportsflow ingest`: a tournament's fixtures or results ingested as a command (SPEC §4), locally."""
from __future__ import annotations

import getpass
import json
from datetime import datetime

import typer
from pydantic import ValidationError

from shared.ingestion.worker import IngestionRequest


def ingest(ctx: typer.Context,
           operation: str = typer.Option(..., "--operation", help="fixtures or results"),
           tournament: str = typer.Option(..., "--tournament", "-t"),
           source: str = typer.Option("synthetic", "--source", help="synthetic, synthetic:SEED or replay:FILE (JSON)"),
           as_of: datetime = typer.Option(None, "--as-of", formats=["%Y-%m-%dT%H:%M:%S%z"],
                                          help="results as the provider knew them then (with offset)"),
           snapshot_version: str = typer.Option(None, "--snapshot-version",
                                                help="default: the content hash of the fetched payload"),
           outage: bool = typer.Option(False, "--outage", help="the provider answers 503 to everything")):
    """Run one ingestion through the command path (execution -> job -> worker) against a local
    provider serving SOURCE; print the execution and its report; exit 1 if it failed."""
    from shared.ingestion.local_run import run_ingestion
    try:
        request = IngestionRequest(operation=operation, entity_id=tournament, snapshot_version=snapshot_version,
                                   as_of=as_of)
    except ValidationError as bad:
        raise typer.BadParameter(str(bad)) from None
    try:
        result = run_ingestion(ctx.obj, request, source=source, outage=outage, triggered_by=f"cli:{getpass.getuser()}")
    except ValueError as refused:
        raise typer.BadParameter(str(refused)) from None
    typer.echo(json.dumps(result, indent=1, default=str))
    if result["execution"]["status"] != "completed":
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.command("ingest")(ingest)
