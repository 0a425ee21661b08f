"""`sportsflow live`: play football matches through the live subsystem locally."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from shared.live.feed import LiveFeed, ReplayFileInvalid, SimClock
from shared.live.local_run import chaos_faults, run_local


def register(app: typer.Typer) -> None:
    app.command(name="live")(live)


def live(ctx: typer.Context,
         replay: Path = typer.Option(None, "--replay", exists=True, dir_okay=False,
                                     help="a JSON file of matches and events (see shared/live/feed.py)"),
         synthetic: int = typer.Option(None, "--synthetic", min=1, max=2000, help="play N synthetic matches"),
         speed: float = typer.Option(60.0, "--speed", min=1.0, max=600.0, help="simulated seconds per real second"),
         chaos: int = typer.Option(None, "--chaos", help="seed: duplicated, reordered, stale pushes, silent matches, "
                                                          "provider 5xx"),
         seed: int = typer.Option(0, "--seed", help="seed of the synthetic matches"),
         max_seconds: float = typer.Option(900.0, "--max-seconds", help="stop after this many real seconds")):
    """Play matches as provider pushes and polls through ingestion, minute engine and watchdog; print a summary."""
    if (replay is None) == (synthetic is None):
        raise typer.BadParameter("give exactly one of --replay FILE or --synthetic N")
    clock = SimClock(start=_start_time(), speed=speed)
    try:
        feed = (LiveFeed.replay(replay, clock, chaos=chaos) if replay
                else LiveFeed.synthetic(synthetic, clock, seed=seed, chaos=chaos))
    except ReplayFileInvalid as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2)
    home = ctx.obj.home / "live-run"
    documents = _emulator_documents(ctx.obj) if ctx.obj.backend == "emulator" else None
    try:
        summary = run_local(home, feed, faults=chaos_faults(chaos) if chaos is not None else None,
                            max_real_seconds=max_seconds, documents=documents,
                            progress=lambda snapshot: typer.echo(json.dumps(snapshot), err=True))
    finally:
        if documents is not None:
            documents.close()
    typer.echo(json.dumps(summary, indent=2))
    for warning in summary["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    if summary["not_converged"] or summary["still_live"]:
        raise typer.Exit(1)


def _emulator_documents(settings):
    """`--backend emulator`: the matches go to the Firestore emulator, in a namespace of their own
    (printed), while pushes still go through the in-process bus to the real live_ingest handler."""
    import uuid

    from shared.adapters.gcp.firestore import FirestoreDocumentStore
    from shared.config import emulator_endpoints
    endpoints = emulator_endpoints(settings)
    namespace = f"live-{uuid.uuid4().hex[:8]}"
    typer.echo(json.dumps({"firestore_namespace": namespace}), err=True)
    return FirestoreDocumentStore(endpoints.project, namespace=namespace, endpoint=endpoints.firestore)


def _start_time() -> float:
    import time
    return float(int(time.time()))
