"""`sportsflow backup create|verify|restore` and `sportsflow rebuild --from-evidence`."""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Iterator

import typer
from rich.console import Console

from shared.bootstrap import Services
from shared.cli.errors import failures_explained, home_held
from shared.config import Settings
from shared.operations.backup import KINDS, BackupError, create_backup, restore_backup, verify_backup
from shared.operations.emulator_backup import create_emulator_backup, restore_emulator_backup

backup_app = typer.Typer(help="Back up a home, verify a backup, restore it (every checksum compared).",
                         no_args_is_help=True)
out = Console(width=200)
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
    app.command("rebuild")(rebuild)


GOOGLE_BACKUPS = ("backups on gcp are Google's own: Firestore point-in-time recovery and scheduled backups, BigQuery "
                  "time travel and table snapshots, the evidence bucket's cross-region replica (infra/backups.tf; "
                  "docs/runbooks.md \"Restoring from backup\"). `sportsflow backup` backs up a local home or the "
                  "emulators.")


def _backend(ctx: typer.Context) -> str:
    settings: Settings = ctx.obj
    if settings.backend == "gcp":
        raise typer.BadParameter(GOOGLE_BACKUPS)
    return settings.backend


@contextmanager
def _emulator_services(ctx: typer.Context) -> Iterator[Services]:
    services = Services(ctx.obj)
    try:
        yield services
    finally:
        services.close()


@backup_app.command("create")
def create(ctx: typer.Context, destination: Path = typer.Argument(..., help="a new directory for the backup"),
           as_json: bool = typer.Option(False, "--json")):
    """Copy the home's (or the emulators') documents, warehouse, evidence and keys, with a manifest of checksums."""
    backend = _backend(ctx)
    home = ctx.obj.home
    try:
        with home_held(home):  # a run of this home meanwhile would make the copy inconsistent
            if backend == "emulator":
                with _emulator_services(ctx) as services:
                    manifest = create_emulator_backup(services, destination)
            else:
                manifest = create_backup(home, destination)
    except BackupError as error:
        _fail(error)
    source = f"the emulators of project {manifest['project']}" if backend == "emulator" else str(home)
    summary = {"backup": str(destination), "home": str(home), "backend": backend, **_counts(manifest)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        counts = ", ".join(f"{n} {kind}" for kind, n in _counts(manifest).items())
        out.print(f"backed up {source} to {destination}: {counts}")


@backup_app.command("verify")
def verify(ctx: typer.Context, backup: Path = typer.Argument(..., help="a backup directory"),
           as_json: bool = typer.Option(False, "--json")):
    """Recompute every checksum of a backup and compare it with its manifest (exit 1 if anything differs)."""
    try:
        comparison = verify_backup(backup)
    except BackupError as error:
        _fail(error)
    _print_comparison(comparison, f"backup {backup}", as_json)


@backup_app.command("restore")
def restore(ctx: typer.Context, backup: Path = typer.Argument(..., help="a backup directory"),
            force: bool = typer.Option(False, "--force", help="local: the home holds state: move it aside and "
                                                              "restore (emulators: restore only into empty ones)"),
            as_json: bool = typer.Option(False, "--json")):
    """Restore a backup into the home (or empty emulators), then compare every table checksum and document."""
    backend = _backend(ctx)
    home = ctx.obj.home
    moved_aside = None
    try:
        with home_held(home):  # never restore under (or move a home aside from) a process working on it
            if backend == "emulator":
                with _emulator_services(ctx) as services:
                    comparison = restore_emulator_backup(backup, services)
                    target = f"the emulators of project {services.settings.project}"
            else:
                comparison, moved_aside = restore_backup(backup, home, replace_existing=force)
                target = str(home)
    except BackupError as error:
        _fail(error)
    if moved_aside and not as_json:
        out.print(f"the home's previous state was moved to {moved_aside}")
    _print_comparison(comparison, f"restored {target} from {backup}", as_json,
                      extra={"moved_aside": str(moved_aside) if moved_aside else None})


def rebuild(ctx: typer.Context,
            from_evidence: bool = typer.Option(False, "--from-evidence",
                                               help="re-derive the warehouse from the stored raw payloads alone"),
            into: Path = typer.Option(..., "--into", help="a new home for the rebuilt warehouse"),
            start: datetime = typer.Option(None, formats=["%Y-%m-%d"], help="first date (default: the first stored)"),
            end: datetime = typer.Option(None, formats=["%Y-%m-%d"], help="last date (default: the last stored)"),
            as_json: bool = typer.Option(False, "--json")):
    """Rebuild Phases 2–4 into a fresh home from this home's raw payloads, then compare every table
    of every date with this home's (exit 1 if any differs)."""
    from shared.operations.rebuild import rebuild_from_evidence
    from shared.pipeline.home import require_used_home

    if not from_evidence:
        raise typer.BadParameter("say what to rebuild from: --from-evidence")
    settings: Settings = ctx.obj
    into_settings = replace(settings, backend="local", home=into)
    try:
        with failures_explained():
            require_used_home(settings.home)
        with home_held(settings.home):  # the payloads and the tables compared must be of one moment
            with err.status("rebuilding") as spinner:
                report = rebuild_from_evidence(settings, into_settings, start=start and start.date(),
                                               end=end and end.date(), progress=spinner.update)
    except FileExistsError as error:
        _fail(error)
    if not report.dates:
        _fail(f"home {settings.home} has no raw payloads to rebuild from: nothing was compared")
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        span = f"{report.dates[0]}..{report.dates[-1]}" if report.dates else "no dates"
        out.print(f"rebuilt {span} ({len(report.dates)} dates, {report.payloads} raw payloads) into {into} in "
                  f"{report.duration_s:.1f} s; {report.tables_compared} table-dates compared: "
                  + ("[green]equal to the original[/green]" if report.equal else "[red]DIFFERENT[/red]"))
        for day in report.unfinished:
            out.print(f"  {day} did not finish: `sportsflow --home {into} status --date {day}`")
        for difference in report.differences[:20]:
            out.print(f"  {difference['date']} {difference['table']}: {difference['original_rows']} rows → "
                      f"{difference['rebuilt_rows']}")
    if not report.equal:
        raise typer.Exit(1)


def _counts(manifest: dict) -> dict[str, int]:
    return {kind: len(manifest[kind]) for kind in KINDS if kind in manifest}


def _print_comparison(comparison, what: str, as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        typer.echo(json.dumps({**comparison.as_json(), **(extra or {})}, indent=2))
    elif comparison.identical:
        out.print(f"{what}: identical — " + ", ".join(f"{n} {k}" for k, n in comparison.counts.items() if n))
    else:
        out.print(f"[red]{what}: DIFFERENT[/red]")
        for kind, items in comparison.differences.items():
            for item in items[:20]:
                out.print(f"  {kind}: {item}")
    if not comparison.identical:
        raise typer.Exit(1)


def _fail(error: Exception):
    err.print(f"[red]error:[/red] {error}")
    raise typer.Exit(1)
