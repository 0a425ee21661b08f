"""`sportsflow validate` and `sportsflow validation review|sources|alerts|synthetic`: outcome
validation of MLB promotions (SPEC §2) from the command line."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from shared.bootstrap import Services
from shared.validation import alerts, system
from shared.validation.reliability import ReliabilityRecorder
from shared.validation.review import ReviewError, ReviewQueue
from shared.validation.rules import InvalidPromotion

err = Console(stderr=True)
validation_app = typer.Typer(help="Outcome validation: review queue, source reliability, alerts, synthetic run.",
                             no_args_is_help=True)
review_app = typer.Typer(help="The manual review queue and overrides.", no_args_is_help=True)
validation_app.add_typer(review_app, name="review")


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.add_typer(validation_app, name="validation")


def validate(ctx: typer.Context,
             season: int = typer.Option(..., help="the season, e.g. 2024"),
             source: str = typer.Option(..., help="replay:PATH — a Retrosheet game log, or a folder with glSEASON.csv"),
             chaos: int = typer.Option(None, "--chaos", help="bus faults, transient failures, crashes and source "
                                                              "faults, seeded"),
             disagree: float = typer.Option(0.0, help="share of games for which ESPN reports a wrong score"),
             missing_inning: float = typer.Option(0.0, help="share of games for which ESPN drops an inning"),
             corrections: int = typer.Option(0, help="games first served wrong, corrected after the season"),
             fault_seed: int = typer.Option(0, help="seed choosing the games of --disagree/--corrections"),
             limit_dates: int = typer.Option(None, help="only the first N dates (quick runs)"),
             as_json: bool = typer.Option(False, "--json", help="print one JSON summary")):
    """Monitor and validate every game of a season against the promotion catalogue."""
    from shared.validation.season import SeasonOptions, SeasonRun
    kind, _, path = source.partition(":")
    if kind != "replay" or not path:
        raise typer.BadParameter("use --source replay:PATH (a Retrosheet game-log file or folder)")
    options = SeasonOptions(season, Path(path), chaos_seed=chaos, disagree_rate=disagree,
                            missing_inning_rate=missing_inning, corrections=corrections, fault_seed=fault_seed,
                            limit_dates=limit_dates)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    try:
        with Progress(*columns, console=err, disable=False) as bar, SeasonRun(ctx.obj, options) as run:
            task = bar.add_task(f"season {season}", total=None)

            def progress(done: int, total: int, day) -> None:
                bar.update(task, total=total, completed=done, description=f"validated {day}")
            summary = run.run(progress)
    except (FileNotFoundError, InvalidPromotion) as error:
        raise typer.BadParameter(str(error)) from None
    result = summary.as_dict()
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        for name in ("games", "decisions", "latest_decisions", "promotions_met", "latency_ms", "evidence_records",
                     "agrees_with_game_log", "reviews_open", "wall_seconds"):
            typer.echo(f"{name:22} {result[name]}")
        if summary.checkpoint:
            typer.echo(f"{'checkpoint':22} size {summary.checkpoint['size']} root {summary.checkpoint['root']}")
    if not summary.agrees_with_game_log:
        err.print(f"[red]{len(summary.wrong_decisions)}+ decisions disagree with the game log[/red]")
        raise typer.Exit(1)


@review_app.command("list")
def review_list(ctx: typer.Context, status: str = typer.Option("open", help="open, decided or all"),
                as_json: bool = typer.Option(False, "--json")):
    """Decisions waiting for a person (or decided by one)."""
    services = Services(ctx.obj)
    try:
        items = _queue(services).list(status)
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps(items, indent=2, default=str))
        return
    for item in items:
        typer.echo(f"{item['decision_key']}  {item['status']}  {item['reason']}")
    err.print(f"{len(items)} review item(s)")


@review_app.command("decide")
def review_decide(ctx: typer.Context, decision: str = typer.Argument(..., help="the decision key"),
                  outcome: str = typer.Option(..., help="met or not_met"),
                  reason: str = typer.Option(..., help="why (kept with the evidence)"),
                  by: str = typer.Option(..., "--by", help="who decides")):
    """Decide (or override) a decision; the action is itself an evidence record in the log."""
    services = Services(ctx.obj)
    try:
        action = _queue(services).decide(decision, outcome, reason=reason, actor=by)
    except ReviewError as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        services.close()
    typer.echo(json.dumps(action, indent=2, default=str))


@validation_app.command("sources")
def sources(ctx: typer.Context):
    """Per-source reliability: agreement rate, errors, latency, drift."""
    services = Services(ctx.obj)
    try:
        stats = ReliabilityRecorder(services.documents).all_stats(sorted(system.policy_from_env().weights))
    finally:
        services.close()
    typer.echo(json.dumps(stats, indent=2, default=str))


@validation_app.command("alerts")
def alert_status(ctx: typer.Context):
    """SPEC §2's alerts on the recorded validation metrics; exits 1 when one fires."""
    services = Services(ctx.obj)
    try:
        fired = alerts.evaluate_recorded(services.documents)
    finally:
        services.close()
    typer.echo(json.dumps([vars(a) for a in fired], indent=2))
    if fired:
        raise typer.Exit(1)


@validation_app.command("synthetic")
def synthetic(ctx: typer.Context):
    """One synthetic game through the whole path, as the 5-minute scheduler job runs it."""
    from shared.validation.synthetic import run_synthetic
    services = Services(ctx.obj)
    try:
        result = run_synthetic(services)
    finally:
        services.close()
    typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
    if not result.ok:
        raise typer.Exit(1)


def _queue(services: Services) -> ReviewQueue:
    return ReviewQueue(services.documents, services.evidence, system.evidence_log(services, signing=False))
