"""`sportsflow dev up|down|status|logs|fire|trigger`: the whole topology on this machine — the
emulators, one functions-framework process per function, push subscriptions, the scheduler clock."""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, replace
from datetime import date, datetime

import httpx
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from shared.config import Settings
from shared.dev.logs import follow, read_all
from shared.dev.stack import DevError, dev_down, dev_home, dev_up, fan_in_state, logs_dir_of, process_statuses
from shared.dev.state import DevState
from shared.topology import TOPOLOGY

app = typer.Typer(help="The whole topology on this machine: emulators, functions, push, scheduler.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
out = Console(width=None if sys.stdout.isatty() else 200)  # status tables stay readable in a pipe
err = Console(stderr=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="dev")


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()
    return replace(settings, backend="emulator", home=dev_home(settings))


def _state(settings: Settings) -> DevState:
    state = DevState.load(settings.home)
    if state is None:
        err.print(f"[red]no dev stack recorded in {settings.home}[/red]: run `sportsflow dev up`")
        raise typer.Exit(1)
    return state


@app.command()
def up(ctx: typer.Context,
       source: str = typer.Option("synthetic", help="what the provider serves: synthetic[:SEED] or replay:PATH"),
       at: str = typer.Option(None, "--time", help="HH:MM (America/Los_Angeles): the scheduler clock starts at this "
                                                   "time, firing that minute's jobs at once (06:00: the backup start)"),
       day: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"],
                                    help="the scheduler jobs' 'today' (their bodies name this date)"),
       jobs: str = typer.Option("all", help="scheduler jobs the clock fires: all, none, or comma-separated names")):
    """Start everything (emulators, provider, functions, topics and push subscriptions, clock)."""
    settings = _settings(ctx)
    began = time.monotonic()
    try:
        state = dev_up(settings, source=source, clock_start=at, clock_date=day.date().isoformat() if day else None,
                       jobs=jobs, progress=lambda m: err.print(f"[dim]{m}[/dim]"))
    except DevError as error:
        err.print(f"[red]{error}[/red]", markup=False, highlight=False)
        raise typer.Exit(1) from None
    _print_processes(state)
    err.print(f"dev stack up in {time.monotonic() - began:.1f} s ({len(state.processes)} processes); "
              f"state in {DevState.path(settings.home)}; `sportsflow dev trigger --date D` runs a date")


@app.command()
def down(ctx: typer.Context):
    """Stop every process `up` started (by pid, whole process groups) and the emulators it started."""
    report = dev_down(_settings(ctx), progress=lambda m: err.print(f"[dim]{m}[/dim]"))
    if report.left_running:
        err.print(f"[red]still running: pids {report.left_running}[/red] (dev.json kept: run `dev down` again)")
        raise typer.Exit(1)
    err.print(f"stopped {len(report.stopped)} processes" +
              (f" and emulators {', '.join(report.emulators_stopped)}" if report.emulators_stopped else "") +
              "; no process left")


@app.command()
def status(ctx: typer.Context,
           day: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"],
                                        help="fan-in state of this date [default: the last triggered]"),
           as_json: bool = typer.Option(False, "--json")):
    """Each process (pid, port, health, memory), each subscription's pushes and backlog, the fan-in state."""
    settings = _settings(ctx)
    state = _state(settings)
    statuses = process_statuses(state)
    target = day.date() if day else (date.fromisoformat(state.dates[-1]) if state.dates else None)
    fan_in = fan_in_state(settings, target) if target else None
    if as_json:
        typer.echo(json.dumps({"processes": [asdict(s) for s in statuses],
                               "subscriptions": _subscription_rows(state, statuses),
                               "memory_mb": _memory(statuses), "fan_in": fan_in}, indent=1, default=str))
    else:
        _print_status(state, statuses, fan_in)
    if not all(s.alive and s.healthy for s in statuses):
        raise typer.Exit(1)


@app.command()
def logs(ctx: typer.Context,
         follow_: bool = typer.Option(False, "--follow", "-f", help="keep printing new lines"),
         function: str = typer.Option(None, "--function", help="only this function's (or process's) log"),
         tail: int = typer.Option(200, help="lines to show first (0: all)")):
    """The structured logs of all functions, merged by time."""
    directory = logs_dir_of(_settings(ctx).home)
    for line in read_all(directory, function, tail=tail or None):
        typer.echo(line.render())
    if follow_:
        try:
            for line in follow(directory, function):
                typer.echo(line.render())
        except KeyboardInterrupt:
            pass


@app.command()
def fire(ctx: typer.Context,
         job: str = typer.Argument(..., help="a scheduler job of the topology, e.g. phase5-start-backup"),
         day: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"], help="the job's 'today'")):
    """Fire one scheduler job now, as Cloud Scheduler would (e.g. a backup run of Phase 5)."""
    from shared.dev.clock import fire_job
    from shared.runtime import auth

    settings = _settings(ctx)
    state = _state(settings)
    spec = next((j for j in TOPOLOGY.scheduler_jobs if j.name == job), None)
    if spec is None:
        names = ", ".join(j.name for j in TOPOLOGY.scheduler_jobs)
        raise typer.BadParameter(f"no scheduler job {job!r}; jobs: {names}")
    url = state.function_urls().get(spec.target_function)
    if url is None:
        err.print(f"[red]{spec.target_function} is not running in this dev stack[/red]")
        raise typer.Exit(1)
    code, text = fire_job(spec, url, auth.dev_token(settings.home, "dev-token"),
                          day=day.date() if day else None)
    typer.echo(text)
    err.print(f"{job} → {spec.http_method} {spec.target_function}{spec.http_path}: HTTP {code}")
    if not 200 <= code < 300:
        raise typer.Exit(1)


@app.command()
def trigger(ctx: typer.Context,
            day: datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"], help="the date to run"),
            scrapers: str = typer.Option("all", help="all, daily, hourly or comma-separated scraper names"),
            wait: bool = typer.Option(True, "--wait/--no-wait", help="wait until every phase finished the date"),
            timeout: float = typer.Option(1800, help="seconds to wait"),
            as_json: bool = typer.Option(False, "--json", help="print one JSON object (timings, table checksums)")):
    """The Phase 1 trigger (what the scheduler sends the scrapers), then push carries it through every phase."""
    from shared.runtime import auth

    settings = _settings(ctx)
    state = _state(settings)
    url = state.function_urls().get("phase1_scrapers")
    if url is None:
        err.print("[red]phase1_scrapers is not running in this dev stack[/red]")
        raise typer.Exit(1)
    the_day = day.date()
    state.dates = [d for d in state.dates if d != the_day.isoformat()] + [the_day.isoformat()]
    state.save()
    began = time.monotonic()
    response = httpx.post(url + "/", json={"scrapers": scrapers, "date": the_day.isoformat()}, timeout=600,
                          headers={"Authorization": f"Bearer {auth.dev_token(settings.home, 'dev-token')}"},
                          trust_env=False)
    scraped_s = time.monotonic() - began
    err.print(f"phase1_scrapers answered HTTP {response.status_code} after {scraped_s:.1f} s")
    if response.status_code != 200:
        typer.echo(response.text)
        raise typer.Exit(1)
    result = {"date": the_day.isoformat(), "scrape_s": round(scraped_s, 2)}
    if wait:
        result.update(_wait_until_finished(settings, the_day, began, timeout))
    if as_json:
        typer.echo(json.dumps(result, indent=1, default=str))
    else:
        for table in result.get("tables", []):
            typer.echo(f"{table['table']:45} {table['rows']:>7} {table['checksum']}")
        err.print(f"{the_day}: finished={result.get('finished')} in {result.get('end_to_end_s', scraped_s):.1f} s")
    if wait and not result["finished"]:
        raise typer.Exit(1)


def _wait_until_finished(settings: Settings, day: date, began: float, timeout: float) -> dict:
    from shared.bootstrap import Services
    from shared.pipeline.report import table_results
    from shared.pipeline.status import is_finished
    from shared.pipeline.tables import pipeline_tables
    from shared.predictions.coverage import coverage

    services = Services(settings)
    try:
        with err.status(f"waiting for {day} to finish every phase"):
            finished = False
            while time.monotonic() - began < timeout:
                if is_finished(services.documents, day):
                    finished = True
                    break
                time.sleep(1.0)
        elapsed = time.monotonic() - began
        tables = [{"table": t.table, "rows": t.rows, "checksum": t.checksum}
                  for t in table_results(services.warehouse, pipeline_tables(), day)]
        return {"finished": finished, "end_to_end_s": round(elapsed, 2), "tables": tables,
                "predictions": coverage(services, day).as_json()}
    finally:
        services.close()


# --- printing ------------------------------------------------------------------------------------
def _print_processes(state: DevState) -> None:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("process", "kind", "pid", "port", "start-up s"):
        table.add_column(column, no_wrap=True)
    for p in state.processes:
        startup = f"{p.startup_seconds:.1f}" if p.startup_seconds else ""
        table.add_row(p.name, p.kind, str(p.pid), str(p.port or ""), startup)
    out.print(table)


def _memory(statuses) -> dict:
    return {"rss_total": round(sum(s.rss_mb for s in statuses), 1),
            "pss_total": round(sum(s.pss_mb for s in statuses), 1),
            "functions_pss": round(sum(s.pss_mb for s in statuses if s.kind == "function"), 1)}


def _subscription_rows(state: DevState, statuses) -> list[dict]:
    pushes = {name: counts for s in statuses for name, counts in s.pushes.items()}
    rows = []
    for sub in state.subscriptions:
        counts = pushes.get(sub.name, {})
        rows.append({"subscription": sub.name, "function": sub.function or "(pull)",
                     "delivered": counts.get("delivered", 0), "acked": counts.get("acked", 0),
                     "nacked": counts.get("nacked", 0), "in_flight": counts.get("in_flight", 0),
                     "awaiting_redelivery": counts.get("awaiting_redelivery", 0),
                     "dead_letter": f"{sub.dead_letter_topic} after {sub.max_delivery_attempts}"
                                    if sub.dead_letter_topic else ""})
    return rows


def _print_status(state: DevState, statuses, fan_in: dict | None) -> None:
    table = Table(title="processes", box=box.SIMPLE_HEAD)
    for column in ("process", "kind", "pid", "port", "state", "RSS MB", "PSS MB"):
        table.add_column(column, no_wrap=True)
    for s in statuses:
        health = "[green]healthy[/green]" if s.alive and s.healthy else \
            ("[yellow]alive, not answering[/yellow]" if s.alive else "[red]dead[/red]")
        table.add_row(s.name, s.kind, str(s.pid), str(s.port or ""), health, f"{s.rss_mb:.0f}", f"{s.pss_mb:.0f}")
    out.print(table)
    memory = _memory(statuses)
    out.print(f"memory: RSS {memory['rss_total']:.0f} MB summed (shared pages counted per process), "
              f"PSS {memory['pss_total']:.0f} MB (functions {memory['functions_pss']:.0f} MB)")
    subs = Table(title="subscriptions (pushes seen by the functions; backlog = in flight + awaiting redelivery)",
                 box=box.SIMPLE_HEAD)
    for column in ("subscription", "function", "delivered", "acked", "nacked", "in flight", "awaiting", "dead letter"):
        subs.add_column(column, no_wrap=True)
    for row in _subscription_rows(state, statuses):
        subs.add_row(row["subscription"], row["function"], str(row["delivered"]), str(row["acked"]),
                     str(row["nacked"]), str(row["in_flight"]), str(row["awaiting_redelivery"]), row["dead_letter"])
    out.print(subs)
    if fan_in is None:
        out.print("fan-in: no date triggered yet (`sportsflow dev trigger --date D`)")
        return
    out.print(f"[bold]fan-in {fan_in['date']}[/bold]: finished={fan_in['finished']}")
    for phase in fan_in.get("phases", []):
        out.print(f"  phase {phase['phase']} {phase['name']}: {len(phase['done'])} done"
                  + (f", missing {', '.join(phase['missing'])}" if phase['missing'] else ""))
    for trig in fan_in.get("triggers", []):
        what = "published" if trig.get("published") else ("claimed" if trig.get("claimed_at") else "waiting")
        out.print(f"  {trig['orchestrator']} → {trig['target']}: {what}"
                  + (f" (waits for {', '.join(trig['missing'])})" if trig.get("missing") else ""))
