"""`sportsflow evaluate`: walk-forward evaluation of the prediction systems over real dates."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from shared.bootstrap import Services
from shared.cli.errors import failures_explained
from shared.cli.pipeline import _checked_source, _settings
from shared.pipeline.formulas import season_start
from shared.pipeline.runner import Pipeline, RunOptions

DEFAULT_THRESHOLD = 0.5  # shared.predictions.evaluation's, not imported here: numpy and LightGBM load lazily

out = Console()
err = Console(stderr=True)
_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn())


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)


def evaluate_command(ctx: typer.Context,
                     start: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="first predicted date"),
                     end: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="last predicted date, inclusive"),
                     source: str = typer.Option("synthetic", help="synthetic, or replay:PATH (e.g. "
                                                                  "replay:../shared/data)"),
                     retrain_every: int = typer.Option(7, min=1, help="days between retrainings"),
                     threshold: float = typer.Option(DEFAULT_THRESHOLD, help="threes: disagreement with the line "
                                                                             "counted as a strong pick"),
                     skip_backfill: bool = typer.Option(False, help="use the home's tables as they are"),
                     as_json: bool = typer.Option(False, "--json", help="print one JSON object")):
    """Walk forward from START to END: retrain on the past only, predict, score against the outcomes
    and two baselines. Backfills the home first (from the season's start; finished dates are skipped)."""
    from shared.predictions.evaluation import evaluate, windows
    settings = _settings(ctx, None)
    first, last = start.date(), end.date()
    if last < first:
        raise typer.BadParameter("--end is before --start")
    if not skip_backfill:
        _backfill(settings, _checked_source(source), season_start(first), last)
    services = Services(settings)
    try:
        with Progress(*_COLUMNS, console=err) as bar:
            task = bar.add_task("evaluate", total=len(windows(first, last, retrain_every)))

            def advance(window_first: date, window_last: date) -> None:
                bar.update(task, description=f"evaluate {window_first}..{window_last}")
                bar.advance(task)
            report = evaluate(services, first, last, retrain_every_days=retrain_every, threshold=threshold,
                              progress=advance)
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print(report)


def _backfill(settings, source: str, first: date, last: date) -> None:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    with failures_explained(), Progress(*_COLUMNS, console=err) as bar:
        task = bar.add_task("backfill", total=len(days))
        with Pipeline(settings, RunOptions(source=source)) as pipeline:
            for day in days:
                bar.update(task, description=f"backfill {day}")
                if not pipeline.is_finished(day):
                    pipeline.run_date(day, checksums=False)
                bar.advance(task)


def _print(report) -> None:
    table = Table("market", "system", "rows", "MAE", "bias", "80% coverage",
                  title=f"walk-forward {report.start}..{report.end}, retrained every {report.retrain_every_days} d")
    for score in sorted(report.scores, key=lambda s: (s.market, s.system)):
        coverage = "—" if score.interval_coverage is None else f"{score.interval_coverage:.1%}"
        table.add_row(score.market, score.system, str(score.rows), f"{score.mae:.3f}", f"{score.bias:+.3f}", coverage)
    out.print(table)
    out.print(f"{report.scored_rows} player-games scored; {report.rows_without_baseline} first games without a "
              f"season average left out; {len(report.trainings)} trainings "
              f"({sum(t['reused'] for t in report.trainings)} reused)")
    lines = Table("system", "rows with line", "share", "decided", "hit rate", f"|Δ|>{report.threshold}", "hit rate",
                  title="threes over/under against the prop lines")
    for s in report.line_scores:
        lines.add_row(s.system, str(s.rows_with_line), f"{s.line_share:.1%}", str(s.decided), _pct(s.hit_rate),
                      str(s.disagreeing), _pct(s.disagreeing_hit_rate))
    out.print(lines)
    props = report.prop_lines
    if props.get("player_games"):
        out.print(f"prop lines: {props['resolved']} of {props['player_games']} threes player-games resolved to a "
                  f"player id ({props['resolution_rate']:.1%})")
    else:
        out.print("no threes prop lines in this window (the real lines cover 2024-10-22..2024-11-30)")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"
