"""`sportsflow console`: the operations console on this machine, in a browser, against this home.

The same served function as `sportsflow serve console` (functions-framework's server, the home's
development tokens), plus a sign-in form that keeps the token in a cookie (shared.console.server)."""
from __future__ import annotations

import os

import typer
from rich.console import Console

from shared.config import Settings
from shared.runtime import auth
from shared.runtime.entrypoints import EMBEDDED_TOPOLOGY

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command()(console)


def console(ctx: typer.Context,
            host: str = typer.Option("127.0.0.1", help="interface to bind (the default keeps it on this machine)"),
            port: int = typer.Option(8090, min=1, max=65535, help="TCP port"),
            threads: int = typer.Option(8, min=1, max=64, help="request threads")):
    """Serve the operations console (pipeline, coverage, validations, review queue, live, executions, health)."""
    settings: Settings = ctx.obj
    os.environ.update({"SPORTSFLOW_BACKEND": settings.backend, "SPORTSFLOW_HOME": str(settings.home.resolve()),
                       "THREADS": str(threads), "WORKERS": "1", EMBEDDED_TOPOLOGY: "1"})
    auth.dev_token(settings.home, "dev-token")
    auth.dev_token(settings.home, "dev-admin-token")
    err.print(f"console on http://{host}:{port}/ ({settings.backend}, home {settings.home})\n"
              f"sign in with the token in {settings.home / 'dev-token'} "
              f"(or {settings.home / 'dev-admin-token'} for overrides)")
    from functions_framework._http import create_server

    from shared.console.server import console_app
    create_server(console_app(), debug=False).run(host, port)
