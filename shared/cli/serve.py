"""`sportsflow serve FUNCTION`: one HTTP function of the topology on this machine, authenticated like
the deployed one (the home's development token), on the same WSGI server functions-framework uses."""
from __future__ import annotations

import os

import typer
from rich.console import Console

from shared.config import Settings
from shared.runtime import auth
from shared.runtime.entrypoints import EMBEDDED_TOPOLOGY
from shared.runtime.handlers import is_implemented
from shared.runtime.http_app import http_functions, wsgi_app
from shared.topology import TOPOLOGY

err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(ctx: typer.Context,
          function: str = typer.Argument(..., help="an HTTP function of the topology "
                                                    f"({', '.join(http_functions())})"),
          host: str = typer.Option("127.0.0.1", help="interface to bind (the default keeps it on this machine)"),
          port: int = typer.Option(8080, min=1, max=65535, help="TCP port"),
          threads: int = typer.Option(16, min=1, max=256, help="request threads")):
    """Serve one HTTP function (e.g. the predictions API) against this home's state."""
    settings: Settings = ctx.obj
    if function not in http_functions():
        raise typer.BadParameter(f"{function!r} is not an HTTP function; choose one of "
                                 f"{', '.join(http_functions())}", param_hint="FUNCTION")
    if not is_implemented(TOPOLOGY.function(function)):
        raise typer.BadParameter(f"{function} is in the topology but not implemented yet", param_hint="FUNCTION")
    # The served process builds its Services from the environment, like a deployed function.
    os.environ.update({"SPORTSFLOW_BACKEND": settings.backend, "SPORTSFLOW_HOME": str(settings.home.resolve()),
                       "THREADS": str(threads), EMBEDDED_TOPOLOGY: "1"})
    token = os.environ.get("SPORTSFLOW_DEV_TOKEN") or auth.dev_token(settings.home, "dev-token")
    del token  # created if absent; printed nowhere (it is a secret): read it from the file
    err.print(f"serving [bold]{function}[/bold] on http://{host}:{port} ({settings.backend}, home {settings.home})\n"
              f"paths: {', '.join(TOPOLOGY.function(function).http_paths)}\n"
              f"send: Authorization: Bearer $(cat {settings.home / 'dev-token'})")
    from functions_framework._http import create_server
    create_server(wsgi_app(function), debug=False).run(host, port)
