"""`sportsflow leaderboard rebuild|check|show|resettle|season`: the leaderboard projections (SPEC §4)."""
from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import typer

from shared.bootstrap import Services
from shared.cli.errors import cli_services
from shared.ports.documents import is_document_id
from shared.tournaments.leaderboard import Board, Leaderboards
from shared.tournaments.store import tournament_path

app = typer.Typer(help="Leaderboards: rebuild and check the projections, read pages, run a season.",
                  no_args_is_help=True)


def _boards(services: Services, tournament: str, league: str | None) -> list[Board]:
    """The boards asked for; an unknown tournament or league is a usage error (exit 2), not an empty board."""
    if not is_document_id(tournament) or services.documents.get(tournament_path(tournament)) is None:
        known = sorted(d.id for d in services.documents.query("tournaments", limit=20))
        typer.echo(f"error: no tournament {tournament!r} in this home (known: {', '.join(known) or 'none'}); "
                   f"`sportsflow leaderboard season` creates one", err=True)
        raise typer.Exit(2)
    boards = Leaderboards(services.documents).boards_of(tournament)
    if league is None:
        return boards
    if Board(tournament, league) not in boards:
        leagues = sorted(b.league_id for b in boards if b.league_id)
        typer.echo(f"error: tournament {tournament!r} has no league {league!r} (its leagues: "
                   f"{', '.join(leagues) or 'none'})", err=True)
        raise typer.Exit(2)
    return [Board(tournament, league)]


@app.command()
def rebuild(ctx: typer.Context, tournament: str = typer.Option(..., "--tournament", "-t"),
            league: str = typer.Option(None, "--league", help="one league's board (default: every board)")):
    """Rebuild the tournament's boards (or one league's) from the standings, the source of truth."""
    with cli_services(ctx.obj) as services:
        leaderboards = Leaderboards(services.documents)
        for board in _boards(services, tournament, league):
            typer.echo(json.dumps(leaderboards.rebuild(board)))


@app.command()
def check(ctx: typer.Context, tournament: str = typer.Option(..., "--tournament", "-t"),
          league: str = typer.Option(None, "--league")):
    """Exit 1 unless every projection equals a rebuild from the standings (and is current)."""
    with cli_services(ctx.obj) as services:
        leaderboards = Leaderboards(services.documents)
        results = [leaderboards.check(board) for board in _boards(services, tournament, league)]
    for result in results:
        typer.echo(json.dumps(result.__dict__))
    if not all(r.ok for r in results):
        typer.echo("a projection differs from the standings: run `sportsflow leaderboard rebuild`", err=True)
        raise typer.Exit(1)


@app.command()
def show(ctx: typer.Context, tournament: str = typer.Option(..., "--tournament", "-t"),
         league: str = typer.Option(None, "--league"), page: int = typer.Option(1, min=1),
         page_size: int = typer.Option(50, min=1, max=500)):
    """One page of a board (degraded reads from the standings are flagged with the reason)."""
    with cli_services(ctx.obj) as services:
        board = _boards(services, tournament, league)[0]  # the tournament's own board first
        typer.echo(json.dumps(Leaderboards(services.documents).read(board, page, page_size)
                              .as_dict(), indent=1))


@app.command()
def resettle(ctx: typer.Context, tournament: str = typer.Option(..., "--tournament", "-t"),
             match: str = typer.Option(..., "--match", "-m"),
             home_goals: int = typer.Option(..., "--home-goals", min=0),
             away_goals: int = typer.Option(..., "--away-goals", min=0)):
    """Correct an ended match's score and re-settle it: the result gets a new status timestamp (a
    new settlement key) and every member's points move by the difference, exactly once. Runs the
    command path (execution, audit, job, settlement worker); locally in this process."""
    from shared.executions.admin import show as show_execution
    from shared.executions.state import ExecutionStore
    from shared.tournaments.correction import submit_correction

    services = Services(ctx.obj)
    try:
        accepted = submit_correction(services, tournament, match, home_goals, away_goals,
                                     triggered_by=f"cli:{getpass.getuser()}")
        if services.settings.backend == "local":
            execution = show_execution(ExecutionStore(services.documents), accepted.execution.execution_id)
            typer.echo(json.dumps(execution, indent=1, default=str))
            if execution["status"] != "completed":
                raise typer.Exit(1)
        else:
            typer.echo(json.dumps(accepted.body(), indent=1))
    except (LookupError, ValueError) as refused:
        raise typer.BadParameter(str(refused)) from None
    finally:
        services.close()


@app.command()
def season(matches: int = typer.Option(380, min=1), members: int = typer.Option(10_000, min=1),
           revisions: int = typer.Option(5, min=1, help="guess revisions per member and match"),
           leagues: int = typer.Option(3, min=0), seed: int = typer.Option(1),
           chaos: int = typer.Option(None, "--chaos", help="seed of the faults and crashes to inject"),
           home: Path = typer.Option(..., "--home", help="a fresh directory for this run's embedded state")):
    """Settle a seeded season through settlement commands and the worker (embedded backend);
    exit 1 unless every board equals an independent recomputation from the guesses."""
    from shared.tournaments.season import SeasonPlan
    from shared.tournaments.season_run import SeasonRun

    plan = SeasonPlan(matches=matches, members=members, revisions=revisions, leagues=leagues, seed=seed)

    def progress(stage: str, done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            print(f"{stage}: {done}/{total}", file=sys.stderr, flush=True)
    run = SeasonRun(home, plan, chaos_seed=chaos, progress=progress)
    try:
        report = run.run()
    finally:
        run.close()
    typer.echo(json.dumps(report.as_dict(), indent=1, default=str))
    if not report.ok:
        raise typer.Exit(1)
