"""`sportsflow evidence verify | prove | checkpoint | key`: the tamper-evident evidence log."""
from __future__ import annotations

import json

import typer

from shared.bootstrap import Services
from shared.evidence_log.checkpoint import CheckpointError
from shared.evidence_log.proof import RecordNotLogged, inclusion_bundle
from shared.evidence_log.verify import verify_log
from shared.validation import system

evidence_app = typer.Typer(help="The evidence log: verify it, prove a record's inclusion, sign a checkpoint.",
                           no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(evidence_app, name="evidence")


@evidence_app.command()
def verify(ctx: typer.Context,
           since: int = typer.Option(0, "--since", help="a checkpoint's tree size: check what came after it"),
           key: str = typer.Option(None, "--key", help="the trusted verifier key (default: this home's)"),
           as_json: bool = typer.Option(False, "--json")):
    """Recompute every hash, inclusion and consistency proof; name exactly what is wrong (exit 1)."""
    services = Services(ctx.obj)
    try:
        report = verify_log(system.evidence_log(services, signing=False), system.trusted_verifier(key, services),
                            since=since)
    except CheckpointError as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        services.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(f"{report.leaves} leaves, {report.records_checked} records and {report.checkpoints} checkpoints "
                   f"checked in {report.seconds:.2f} s")
        for problem in report.problems:
            typer.echo(f"FAIL {problem}")
        typer.echo("OK: the evidence log verifies" if report.ok else f"{len(report.problems)} problem(s)")
    if not report.ok:
        raise typer.Exit(1)


@evidence_app.command()
def prove(ctx: typer.Context, record: str = typer.Argument(..., help="the evidence key of the record")):
    """Print an inclusion proof that anyone can check with the public key alone."""
    services = Services(ctx.obj)
    try:
        bundle = inclusion_bundle(system.evidence_log(services, signing=False), record)
        bundle["verifier_key"] = system.verifier_key(services)
    except RecordNotLogged as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        services.close()
    typer.echo(json.dumps(bundle, indent=2))


@evidence_app.command()
def checkpoint(ctx: typer.Context):
    """Sign a checkpoint of the log as it is now."""
    services = Services(ctx.obj)
    try:
        made = system.evidence_log(services).checkpoint()
    finally:
        services.close()
    typer.echo(made[1] if made else "nothing new to sign")


@evidence_app.command("key")
def public_key(ctx: typer.Context):
    """The log's verifier key (name+keyID+base64 public key), for third parties."""
    services = Services(ctx.obj)
    try:
        typer.echo(system.verifier_key(services))
    finally:
        services.close()
