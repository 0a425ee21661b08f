"""The CLI imports only the module of the command it runs, and still lists every command."""
from __future__ import annotations

import json
import subprocess
import sys

import typer
from typer.testing import CliRunner

from shared.cli.app import app

HEAVY = ("shared.cli.console", "shared.cli.dev", "shared.cli.live", "shared.cli.evidence", "shared.cli.ingest",
         "shared.cli.health", "functions_framework", "flask", "shared.predictions.model_registry", "lightgbm")


def _modules_after(*args: str) -> set[str]:
    """Module names loaded in a fresh interpreter after `sportsflow ARGS`."""
    script = ("import json, sys\nfrom shared.cli.app import app\n"
              f"try:\n    app({list(args)!r}, standalone_mode=False)\nexcept SystemExit:\n    pass\n"
              "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_a_command_imports_only_its_own_module():
    loaded = _modules_after("run", "--help")
    assert "shared.cli.pipeline" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_root_alone_imports_no_command_module():
    loaded = _modules_after("topology", "--format", "json")
    assert not {m for m in loaded if m.startswith("shared.cli.") and m not in ("shared.cli.app", "shared.cli.lazy")}


def test_every_mounted_name_is_a_command_of_its_module_and_none_is_missing():
    group = typer.main.get_command(app)
    lazy = type(group).lazy
    for name, module in lazy.items():
        registered = module.commands()
        assert name in registered, f"{module.module} does not register {name!r}"
        unmounted = set(registered) - set(lazy) - set(group.commands)
        assert not unmounted, f"{module.module} registers {sorted(unmounted)}: mount them in shared/cli/app.py"


def test_help_lists_every_command_with_its_help():
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    group = typer.main.get_command(app)
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        assert name in result.output
        assert command.get_short_help_str(200)[:25] in result.output


def test_an_unknown_command_is_an_error_naming_it():
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code != 0
    assert "no-such-command" in result.output


def test_an_eager_registration_still_works_beside_the_lazy_ones():
    from shared.cli.lazy import lazy_typer, mount

    root = lazy_typer(no_args_is_help=True)

    @root.callback()
    def _root():
        pass

    def hello():
        """Say hello."""
        typer.echo("hello")

    root.command()(hello)                     # the old two-line style: register(app) at import
    mount(root, "shared.cli.health", "health")
    result = CliRunner().invoke(root, ["hello"])
    assert result.exit_code == 0 and "hello" in result.output
    listing = CliRunner().invoke(root, ["--help"], terminal_width=200)
    assert "hello" in listing.output and "health" in listing.output
