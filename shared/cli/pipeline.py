"""`sportsflow run | backfill | status`: the prediction pipeline from the command line."""
from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from shared.cli.errors import failures_explained, home_held
from shared.config import BACKENDS, Settings
from shared.pipeline.report import RunReport
from shared.pipeline.runner import Pipeline, RunOptions

PIPED_WIDTH = 1000

# Piped (not a terminal), tables keep every column and lines are not cut to 80 characters.
err = Console(stderr=True, width=None if sys.stderr.isatty() else PIPED_WIDTH)
out = Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(backfill)
    app.command()(status)
    app.command()(reconcile)
    app.command()(release)


def run(ctx: typer.Context,
        day: datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"], help="the date to run (YYYY-MM-DD)"),
        source: str = typer.Option("synthetic", help="synthetic, or replay:PATH (a ../shared/data-style folder)"),
        backend: str = typer.Option(None, help="local (default) or emulator; overrides the global --backend"),
        chaos: int = typer.Option(None, "--chaos", help="inject duplicates, reordering, lost acks, transient "
                                                         "failures and provider faults, seeded"),
        seed: int = typer.Option(0, help="seed of the synthetic season"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object (tables, checksums, triggers, "
                                                            "dead letters)"),
        predictions: bool = typer.Option(True, "--predictions/--no-predictions",
                                         help="run Phase 5 (off: the date is run through Phase 4; a later "
                                              "`run --date D` predicts it)")):
    """Run the pipeline for one date: scrape, then Phases 2–5 (predictions), then report every table."""
    settings = _settings(ctx, backend)
    if not predictions:
        settings = replace(settings, predictions_enabled=False)
    options = RunOptions(source=_checked_source(source), seed=seed, chaos_seed=chaos)
    with failures_explained(), err.status(f"running {day.date()} on {settings.backend}") as spinner:
        with Pipeline(settings, options, progress=lambda m: spinner.update(m)) as pipeline:
            report = pipeline.run_date(day.date())
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print_report(report)
    _print_where(settings)
    _exit_unless_finished(report)


def backfill(ctx: typer.Context,
             start: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="first date (YYYY-MM-DD)"),
             end: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="last date, inclusive"),
             source: str = typer.Option("synthetic", help="synthetic, or replay:PATH"),
             backend: str = typer.Option(None, help="local (default) or emulator"),
             seed: int = typer.Option(0, help="seed of the synthetic season"),
             redo: bool = typer.Option(False, help="recompute every date from scratch, finished or not"),
             stale: bool = typer.Option(False, help="recompute, in date order, only the dates whose inputs "
                                                     "changed since they ran (see `status`)"),
             raw_only: bool = typer.Option(False, help="load raw tables only: Phase 2 does not trigger Phase 3"),
             predictions: bool = typer.Option(False, "--predictions/--no-predictions",
                                              help="also run Phase 5 for every date (off: history is loaded "
                                                   "through Phase 4; `run --date D` predicts a date)")):
    """Run every date from START to END in order (history first), resumable: finished dates are skipped."""
    settings = replace(_settings(ctx, backend), predictions_enabled=predictions)
    if raw_only:
        settings = replace(settings, phase3_trigger_enabled=False)
    days = [start.date() + timedelta(days=i) for i in range((end.date() - start.date()).days + 1)]
    if not days:
        raise typer.BadParameter("--end is before --start")
    counts = {"run": 0, "skipped": 0, "rows": 0, "unfinished": 0, "no_games": 0}
    unfinished_dates: list[str] = []
    began = time.monotonic()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with failures_explained(), Progress(*columns, console=err) as bar:
        task = bar.add_task("backfill", total=len(days))
        with Pipeline(settings, RunOptions(source=_checked_source(source), seed=seed)) as pipeline:
            pipeline.check_dates(days)  # the home's source, and every date in a season, before any runs
            for day in days:
                bar.update(task, description=f"backfill {day}")
                report = _backfill_one(pipeline, day, redo=redo, stale=stale)
                if report is None:
                    counts["skipped"] += 1
                elif report.no_games:
                    counts["no_games"] += 1
                else:
                    counts["run"] += 1
                    counts["rows"] += sum(t.rows for t in report.tables)
                    if not report.finished and not raw_only:
                        counts["unfinished"] += 1
                        unfinished_dates.append(day.isoformat())
                bar.advance(task)
    what = "stale dates recomputed" if stale else "dates run"
    err.print(f"backfill {days[0]}..{days[-1]}: {counts['run']} {what}, {counts['skipped']} skipped "
              f"({'not stale' if stale else 'already finished'}), {counts['no_games']} without games, "
              f"{counts['rows']} rows written, {time.monotonic() - began:.1f} s")
    _print_where(settings)
    if raw_only:
        err.print("raw tables only: Phase 3 is held for these dates; release one with "
                  "`sportsflow release --date D` (or `--start/--end`)")
    if counts["unfinished"]:
        err.print(f"[red]error:[/red] {counts['unfinished']} date(s) did not finish ({', '.join(unfinished_dates[:10])}"
                  f"{', …' if len(unfinished_dates) > 10 else ''}); `sportsflow status --date D` says what is missing")
        raise typer.Exit(1)


def _backfill_one(pipeline: Pipeline, day, *, redo: bool, stale: bool) -> RunReport | None:
    """The report of what was run for `day`, or None if it was skipped."""
    from shared.pipeline.status import stale_processors
    if stale:
        return pipeline.recompute(day) if stale_processors(pipeline.services.documents, day) else None
    if redo:
        return pipeline.redo(day, checksums=False)
    if pipeline.is_finished(day):
        return None
    return pipeline.run_date(day, checksums=False)


def status(ctx: typer.Context,
           day: datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"], help="the date (YYYY-MM-DD)"),
           backend: str = typer.Option(None, help="local (default) or emulator"),
           as_json: bool = typer.Option(False, "--json")):
    """Per phase what is done and missing, when each trigger was claimed, and the dead letters."""
    from shared.bootstrap import Services
    from shared.pipeline.home import require_used_home
    from shared.pipeline.status import date_status
    from shared.predictions.coverage import coverage

    settings = _settings(ctx, backend)
    with failures_explained():
        if settings.backend == "local":
            require_used_home(settings.home)
    with home_held(settings.home):
        services = Services(settings)
        state = date_status(services.documents, day.date())
        predictions = coverage(services, day.date())
        from shared.pipeline.no_games import no_games_on
        from shared.pipeline.status import predictions_finished
        predictions_done = predictions_finished(services.documents, day.date())
        no_games = no_games_on(services.documents, day.date())
        ran_dates = _dates_run(services)
        from shared.pipeline.home import run_command
        rerun = run_command(services.documents, day.date())
        services.close()
    ran = (no_games is not None or day.date() in ran_dates or state.dead_letters
           or any(p.done or p.failed for p in state.phases) or any(t.claimed_at for t in state.triggers))
    if as_json:
        typer.echo(json.dumps({**state.as_json(), "predictions": predictions.as_json(), "no_games": no_games,
                               "ran": ran}, indent=2, default=str))
        return
    if no_games:
        out.print(f"no scheduled games on {day.date()} in {no_games['source']} (checked {no_games['checked_at']}): "
                  "nothing was loaded or triggered")
        return
    phases = Table("phase", "done", "missing", title=f"{day.date()}: processors")
    for p in state.phases:
        phases.add_row(f"{p.phase} {p.name}", ", ".join(p.done) or "—", ", ".join(p.missing) or "—")
    triggers = Table("orchestrator", "trigger", "state", "waiting for", title="triggers")
    for t in state.triggers:
        when = (f"published {t.published_at:%H:%M:%S}" if t.published
                else f"claimed {t.claimed_at:%H:%M:%S}, NOT published" if t.claimed_at
                else "held by the backfill switch" if t.held else "not claimed")
        if t.claims > 1:
            when += f" ({t.claims} input versions)"
        triggers.add_row(t.orchestrator, t.target, when, ", ".join(t.missing) or "—")
    out.print(phases, triggers)
    for phase in state.phases:
        for part, reason in phase.failed.items():
            out.print(f"[red]failed[/red] {part}: {reason}")
    if state.held:
        out.print(f"held by the backfill switch: Phase 3 waits until `{state.held}`")
    for processor, reasons in state.stale.items():
        out.print(f"[yellow]stale[/yellow] {processor}: {'; '.join(reasons)} — `sportsflow backfill --stale "
                  f"--start {day.date()} --end {day.date()}` recomputes it")
    if not ran:
        held = f"{len(ran_dates)} date(s), {min(ran_dates)}..{max(ran_dates)}" if ran_dates else "no dates"
        out.print(f"finished: no — nothing has run for {day.date()} in this home (it holds {held}): `{rerun}` runs "
                  f"it if the date is inside one of the source's seasons")
        return
    out.print(_predictions_line(predictions.as_json()))
    out.print(f"finished: {'yes' if state.finished else 'no'}" + (
        "" if state.finished or predictions_done else " — Phase 5 predictions are not complete for the current "
        f"features: `{rerun}` predicts the date again"))
    out.print(f"dead letters: {len(state.dead_letters)}")
    for letter in state.dead_letters:
        out.print(f"  {letter['source_topic']} · {letter['error_kind']} · {letter['reason']}")


def _dates_run(services) -> list:
    """The dates anything has run for in this home: the fan-in ledger's and those without games."""
    from datetime import date

    from shared.orchestration.fan_in import FanInLedger
    from shared.pipeline import no_games
    without_games = {date.fromisoformat(d.id) for d in services.documents.query(no_games.COLLECTION)}
    return sorted(set(FanInLedger(services.documents).dates()) | without_games)


def reconcile(ctx: typer.Context,
              day: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"],
                                           help="only this date (default: the last 7 days)"),
              backend: str = typer.Option(None, help="local (default) or emulator"),
              as_json: bool = typer.Option(False, "--json")):
    """One reconciler pass: publish orphaned claims, fire ready fan-ins, re-drive crashed or
    failed runs and dead-lettered triggers, flag late dates; then deliver what it re-drove."""
    settings = _settings(ctx, backend)
    with failures_explained(), Pipeline(settings, RunOptions()) as pipeline:
        report = pipeline.reconcile([day.date()] if day else None)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2, default=str))
        return
    out.print(f"reconciled {len(report.dates)} date(s): {len(report.repairs)} repaired")
    for repair in report.repairs:
        out.print(f"  {repair.analysis_date} · {repair.kind} · {repair.target} · {repair.detail}")
    for held_day, command in report.held.items():
        out.print(f"  {held_day} held by the backfill switch: `{command}` releases it")
    for late in report.late:
        out.print(f"  [red]{late} not finished by its deadline[/red]")


def release(ctx: typer.Context,
            day: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"], help="the date to release"),
            start: datetime = typer.Option(None, formats=["%Y-%m-%d"], help="or a range: first date"),
            end: datetime = typer.Option(None, formats=["%Y-%m-%d"], help="last date, inclusive"),
            backend: str = typer.Option(None, help="local (default) or emulator")):
    """Let go of dates held by the backfill switch (`backfill --raw-only`): Phase 3 starts now."""
    from shared.orchestration.reconciler import release as release_date

    if day is None and (start is None or end is None):
        raise typer.BadParameter("give --date D, or --start D1 --end D2")
    first, last = (day, day) if day else (start, end)
    days = [first.date() + timedelta(days=i) for i in range((last.date() - first.date()).days + 1)]
    settings = _settings(ctx, backend)
    with failures_explained(), Pipeline(settings, RunOptions()) as pipeline:
        for one in days:
            with pipeline.delivering():
                was_held = release_date(pipeline.services, one)
            finished = pipeline.is_finished(one)
            err.print(f"{one}: {'released' if was_held else 'was not held'}; finished: {'yes' if finished else 'no'}")


def _exit_unless_finished(report: RunReport) -> None:
    if report.finished:
        return
    err.print(f"[red]error:[/red] the pipeline did not finish for {report.analysis_date}: "
              + "; ".join(report.missing) + f". `sportsflow status --date {report.analysis_date}` has the detail; "
              f"`sportsflow reconcile --date {report.analysis_date}` repairs what a crash or a lost message left.")
    raise typer.Exit(1)


# --- helpers ----------------------------------------------------------------------------------
def _settings(ctx: typer.Context, backend: str | None) -> Settings:
    settings: Settings = ctx.obj
    if backend:
        if backend not in BACKENDS:
            raise typer.BadParameter(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
        settings = replace(settings, backend=backend)
    if settings.backend == "gcp":
        raise typer.BadParameter("the pipeline runs on gcp as deployed functions; use local or emulator here")
    return settings


def _checked_source(source: str) -> str:
    if source == "synthetic":
        return source
    if source.startswith("replay:"):
        path = Path(source.split(":", 1)[1])
        if not path.is_dir():
            raise typer.BadParameter(f"replay data folder {path} does not exist (e.g. replay:../shared/data)")
        return f"replay:{path}"
    raise typer.BadParameter(f"unknown source {source!r}: use synthetic or replay:PATH")


def _print_where(settings: Settings) -> None:
    """Where the state and the logs of this command went (a relative --home is relative to here)."""
    home = settings.home.resolve()
    warehouse = home / "warehouse.duckdb" if settings.backend == "local" else "the BigQuery emulator"
    err.print(f"home: {home} · warehouse: {warehouse} · log: {home / 'logs' / 'sportsflow.jsonl'}")


def _print_report(report: RunReport) -> None:
    if report.no_games:
        out.print(report.note)
        return
    table = Table("table", "rows", "checksum", "note",
                  title=f"{report.analysis_date} · {report.backend} · {report.source}")
    for t in report.tables:
        table.add_row(t.table, str(t.rows), t.checksum[:16], report.empty_reasons.get(t.table, ""))
    out.print(table)
    if report.top_predictions:
        out.print(_predictions_table(report))
    out.print(_predictions_line(report.predictions))
    out.print("triggers: " + ", ".join(f"{k}={v}" for k, v in sorted(report.triggers.items())))
    out.print(f"dead letters: {len(report.dead_letters)} · {report.duration_s:.2f} s")
    if report.faults:
        out.print("faults injected: " + ", ".join(f"{k}={v}" for k, v in report.faults.items()))


def _predictions_line(coverage: dict) -> str:
    if coverage.get("switched_off") and not coverage.get("batch_id"):
        return "predictions: switched off for this date (a backfill); `sportsflow run --date D` predicts it"
    if not coverage.get("batch_id"):
        return "predictions: not requested yet"
    missing = "; ".join(f"{reason}: {len(players)}" for reason, players in coverage["missing"].items())
    state = "complete" if coverage["complete"] else "NOT complete"
    return (f"predictions: {coverage['predicted']}/{coverage['requested']} players ({coverage['coverage']:.1%} of "
            f"{coverage['expected']} expected), {state}, batch {coverage['batch_id'][:12]} generation "
            f"{coverage['generation']}" + (f" — missing {missing}" if missing else ""))


def _predictions_table(report: RunReport) -> Table:
    """The day's highest ensemble points predictions, with threes and the lines."""
    table = Table("player", "team", "points", "80% interval", "line", "threes", "line",
                  title=f"predictions (ensemble), top {len(report.top_predictions)} by points")
    for row in report.top_predictions:
        table.add_row(row["player_name"], row["team_abbr"], f"{row['points']:.1f}",
                      f"{row['points_low']:.1f}–{row['points_high']:.1f}", _fmt(row["points_line"]),
                      _fmt(row["threes"]), _fmt(row["threes_line"]))
    return table


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.1f}"
