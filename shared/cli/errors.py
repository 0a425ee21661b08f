"""How the CLI ends on a known failure: one line saying what to do next, and the exit code
(2: what the command was asked to do cannot be done; 1: it could not be done now), never a traceback."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import typer
from rich.console import Console

from shared.config import ConfigError

if TYPE_CHECKING:
    from shared.bootstrap import Services

err = Console(stderr=True, width=None if sys.stderr.isatty() else 1000)


class failures_explained:
    """Known failures as one line saying what to do next, instead of a traceback."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        from shared.adapters.local.warehouse import WarehouseInUse
        from shared.pipeline.home import HomeNotFound, HomeSourceMismatch
        from shared.ports.warehouse import WarehouseError
        from shared.providers.replay_layout import ReplayDataInvalid, ReplayDataMissing
        from shared.providers.seasons import OutOfSeason
        from shared.resilience import ProviderError

        usage_errors = (WarehouseInUse, HomeSourceMismatch, HomeNotFound, ReplayDataMissing, ReplayDataInvalid,
                        OutOfSeason)
        if isinstance(error, usage_errors):  # what the command was asked to do cannot be done: exit 2
            err.print(f"[red]error:[/red] {error}")
            raise typer.Exit(2)
        if isinstance(error, (ConfigError, ProviderError)):
            err.print(f"[red]error:[/red] {error}")
            raise typer.Exit(1)
        if isinstance(error, WarehouseError):
            err.print(f"[red]error:[/red] the warehouse cannot answer: {error}\n"
                      "If its file was lost, restore the home (`sportsflow backup restore DIR`) or re-derive it "
                      "from the raw payloads (`sportsflow rebuild --from-evidence --into DIR`).")
            raise typer.Exit(1)
        return False


@contextmanager
def home_held(home: Path) -> Iterator[None]:
    """The home's lock for the block's duration; another process holding it is exit 2 naming it."""
    from shared.pipeline.home import HomeLock
    with failures_explained(), HomeLock(home):
        yield


@contextmanager
def cli_services(settings) -> Iterator["Services"]:
    """The command's Services, closed afterwards, with its known failures explained (e.g. the
    emulator backend without running emulators)."""
    from shared.bootstrap import Services
    with failures_explained():
        services = Services(settings)
        try:
            yield services
        finally:
            services.close()
