"""`sportsflow dlq list | show | replay`: the dead letters of every backend, and their replay."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

import typer
from rich.console import Console
from rich.table import Table

from shared.bootstrap import Services
from shared.config import Settings
from shared.operations import dlq

dlq_app = typer.Typer(help="Dead letters: list, show, replay to the original topic.", no_args_is_help=True)
out = Console(width=200)
err = Console(stderr=True)
_DURATION = re.compile(r"(\d+)([mhd])")


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """`--since`: an ISO date or time (UTC unless it says), or an age like 30m, 6h, 7d."""
    if not text:
        return None
    now = now or datetime.now(timezone.utc)
    match = _DURATION.fullmatch(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    try:
        moment = datetime.fromisoformat(text) if "T" in text or " " in text else \
            datetime.combine(date.fromisoformat(text), datetime.min.time())
    except ValueError:
        raise typer.BadParameter(f"--since {text!r}: give a date (2025-01-15), a time (2025-01-15T06:00) "
                                 "or an age (30m, 6h, 7d)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dlq_app.command("list")
def list_command(ctx: typer.Context,
                 topic: str = typer.Option(None, "--topic", help="only letters of this source topic"),
                 since: str = typer.Option(None, "--since", help="recorded at or after: a date, a time or 6h/7d"),
                 as_json: bool = typer.Option(False, "--json")):
    """Every recorded dead letter, oldest first: id, source topic, why, how often replayed."""
    services = Services(ctx.obj)
    try:
        letters = [letter.summary() for letter in dlq.list_letters(services.documents, topic=topic,
                                                                   since=parse_since(since))]
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps(letters, indent=2))
        return
    table = Table("id", "recorded", "topic", "date", "kind", "replays", "reason", title=f"{len(letters)} dead letters")
    for letter in letters:
        table.add_row(letter["id"], letter["recorded_at"][:19], letter["source_topic"], letter["analysis_date"] or "?",
                      letter["error_kind"], str(letter["replays"]), letter["reason"][:80])
    out.print(table)


@dlq_app.command("show")
def show_command(ctx: typer.Context, letter_id: str = typer.Argument(..., help="an id from `dlq list`")):
    """One dead letter in full (JSON): the record, the decoded original message, its replays."""
    services = Services(ctx.obj)
    try:
        shown = dlq.show_letter(services.documents, letter_id)
    except dlq.DeadLetterNotFound as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1)
    finally:
        services.close()
    typer.echo(json.dumps(shown, indent=2, default=str))


@dlq_app.command("replay")
def replay_command(ctx: typer.Context,
                   letter_ids: list[str] = typer.Argument(None, help="ids to replay (default: every matching one)"),
                   topic: str = typer.Option(None, "--topic", help="only letters of this source topic"),
                   since: str = typer.Option(None, "--since", help="recorded at or after: a date, a time or 6h/7d"),
                   dry_run: bool = typer.Option(False, "--dry-run", help="say what would be replayed; publish nothing"),
                   force: bool = typer.Option(False, "--force", help="replay letters replayed before, too"),
                   as_json: bool = typer.Option(False, "--json")):
    """Republish dead letters to their original topic (new attempt, linked to the letter), then
    deliver them (local, emulator); already replayed letters are skipped unless --force."""
    with _delivery(ctx.obj) as (services, deliver):
        letters = dlq.list_letters(services.documents, topic=topic, since=parse_since(since))
        if letter_ids:
            wanted = set(letter_ids)
            unknown = wanted - {letter.id for letter in letters}
            if unknown:
                raise typer.BadParameter(f"no matching dead letter {sorted(unknown)}: `sportsflow dlq list`")
            letters = [letter for letter in letters if letter.id in wanted]
        before = len(dlq.list_letters(services.documents))
        with deliver():
            report = dlq.replay_letters(services.documents, letters,
                                        lambda t, d, a: services.bus.publish(t, d, dict(a)),
                                        dry_run=dry_run, force=force)
        remaining = len(dlq.list_letters(services.documents)) - before
    if as_json:
        typer.echo(json.dumps({**report.as_json(), "new_letters": max(remaining, 0)}, indent=2))
        return
    verb = "would replay" if dry_run else "replayed"
    out.print(f"{verb} {len(report.replayed)}, skipped {len(report.skipped)}")
    for entry in report.replayed:
        out.print(f"  {verb} {entry['id']} → {entry['source_topic']} (replay {entry['replay_number']}, "
                  f"date {entry['analysis_date'] or '?'})")
    for entry in report.skipped:
        out.print(f"  skipped {entry['id']} ({entry['source_topic']}): {entry['reason']}")
    if remaining > 0 and not dry_run:
        out.print(f"[yellow]{remaining} new dead letter(s) since the replay[/yellow]: the cause is still there; "
                  "`sportsflow dlq list` shows them")


@contextmanager
def _delivery(settings: Settings) -> Iterator[tuple[Services, object]]:
    """Services and a `deliver()` context: local and emulator deliver what was published through
    the deployed functions before returning (as `reconcile` does); on gcp Pub/Sub pushes it."""
    if settings.backend == "gcp":
        services = Services(settings)

        @contextmanager
        def nothing() -> Iterator[None]:
            yield
        try:
            yield services, nothing
        finally:
            services.close()
        return
    from shared.pipeline.runner import Pipeline, RunOptions
    with Pipeline(settings, RunOptions()) as pipeline:
        yield pipeline.services, pipeline.delivering
