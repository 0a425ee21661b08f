"""Commands whose module is imported only when they run (click's LazyGroup pattern over typer apps).

`sportsflow run` must not pay for importing the console, the dev stack, the live feed or
functions_framework: the root group knows each lazy command's *name* and *module* up front and
imports the module the first time the command is looked up. Listing the commands (`--help`)
looks every one up, so the help text still comes from the command itself.

A module mounted lazily exposes either `register(app: typer.Typer)` (adding any number of commands
or groups to `app`) or a typer app named `app` mounted as one group:

    mount(app, "shared.cli.pipeline", "run", "backfill")          # module.register(...) adds these
    mount_group(app, "emulators", "shared.cli.emulators", help="...")  # module.app as `emulators`
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:  # typer carries its own click (typer._click): importing click itself only costs time
    import click


@dataclass(frozen=True)
class LazyModule:
    module: str
    group: str | None = None  # mount `module.app` under this name instead of calling `module.register`
    help: str | None = None

    def commands(self) -> dict[str, click.Command]:
        """Every click command the module adds to a root, by name (imports the module)."""
        loaded = importlib.import_module(self.module)
        holder = typer.Typer()
        if self.group:
            holder.add_typer(loaded.app, name=self.group, help=self.help)
        else:
            loaded.register(holder)
        return dict(typer.main.get_group(holder).commands)


class LazyGroup(TyperGroup):
    """A root group whose `lazy` commands are imported from their module on first lookup."""

    lazy: dict[str, LazyModule] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands) + [name for name in self.lazy if name not in self.commands]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.commands.update(self.lazy[cmd_name].commands())
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands and args[0] not in self.lazy:
            self._load_all()  # an unknown name: the "did you mean" suggestions need every command
        return super().resolve_command(ctx, args)

    def _load_all(self) -> None:
        for module in {m for n, m in self.lazy.items() if n not in self.commands}:
            self.commands.update(module.commands())


def lazy_typer(**options) -> typer.Typer:
    """A root typer app that accepts `mount` / `mount_group` (each app gets its own lazy table)."""
    group_class = type("RootGroup", (LazyGroup,), {"lazy": {}})
    return typer.Typer(cls=group_class, **options)


def mount(app: typer.Typer, module: str, *commands: str) -> None:
    """Commands `commands` come from `module.register(app)`, imported when one of them runs."""
    for name in commands:
        _table(app)[name] = LazyModule(module)


def mount_group(app: typer.Typer, name: str, module: str, help: str | None = None) -> None:
    """The typer app `module.app` is the group `name`, imported when it runs."""
    _table(app)[name] = LazyModule(module, group=name, help=help)


def _table(app: typer.Typer) -> dict[str, LazyModule]:
    group_class = app.info.cls
    if not (isinstance(group_class, type) and issubclass(group_class, LazyGroup)):
        raise TypeError("mount() needs a root app made by lazy_typer()")
    return group_class.lazy
