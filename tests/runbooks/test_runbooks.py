"""docs/runbooks.md cannot rot: every local command block runs, line by line, on the local backend
in a home prepared in the state its section describes; every production line is parsed by the real
CLI or checked against the gcloud/bq/terraform commands and the resources infra/ creates."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

import pytest

from shared.bootstrap import Services
from shared.pipeline.status import is_finished, stale_processors
from tests.conftest import REPO_ROOT
from tests.operations.states import backfill, checksums, days, home_with_dead_letters, settings_for

RUNBOOK = REPO_ROOT / "docs" / "runbooks.md"
SECTIONS = ("A provider outage", "A stuck fan-in", "A dead-letter backlog", "A backfill", "A correction of past data",
            "An evidence verification failure", "Restoring from backup", "A regional failover")
_MARKER = re.compile(r"<!-- runbook: (?:local, state: (?P<state>\w+)|(?P<production>production)) -->\n```bash\n"
                     r"(?P<body>.*?)\n```", re.S)
_EXIT = re.compile(r"\s+#\s*exit (\d+)\s*$")
D1, D2, D3, D4 = (date(2025, 1, d) for d in (1, 2, 3, 4))


@dataclass(frozen=True)
class Block:
    section: str
    state: str | None  # None: production
    lines: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.section} [{self.state or 'production'}]"


def runbook_blocks(text: str) -> list[Block]:
    blocks = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        for match in _MARKER.finditer(section):
            lines = tuple(line for line in match.group("body").splitlines() if line.strip() and
                          not line.lstrip().startswith("#"))
            blocks.append(Block(title, match.group("state"), lines))
    return blocks


BLOCKS = runbook_blocks(RUNBOOK.read_text())


# --- prepared states: each returns a check of what the commands must have achieved -------------
def _finished(home: Path, day: date) -> bool:
    services = Services(settings_for(home))
    try:
        return bool(is_finished(services.documents, day))
    finally:
        services.close()


def outage(home, workdir, request):
    backfill(home, D1, D2)  # the provider went down before 2025-01-03 was scraped
    return lambda: _finished(home, D3) and _finished(home, D4)


def stuck_fan_in(home, workdir, request):
    from shared.pipeline.runner import Pipeline, RunOptions
    from shared.runtime import crash_points
    from tests.exactly_once.harness import FireAt, for_processor

    backfill(home, D1, D2)
    crash_points.install(FireAt(crash_points.PROCESSOR_LOADED, for_processor("ml_feature_store_v2"), times=99))
    try:  # the process running the last Phase 4 processor dies after every load, before recording it
        with Pipeline(settings_for(home, predictions_enabled=False), RunOptions()) as pipeline:
            pipeline.run_date(D3, checksums=False)
    finally:
        crash_points.install(None)
    assert not _finished(home, D3)
    return lambda: _finished(home, D3)


def held(home, workdir, request):
    backfill(home, D1, D2)
    from shared.pipeline.runner import Pipeline, RunOptions
    with Pipeline(settings_for(home, predictions_enabled=False, phase3_trigger_enabled=False),
                  RunOptions()) as pipeline:
        pipeline.run_date(D3, checksums=False)  # `backfill --raw-only`: Phase 3 held
    assert not _finished(home, D3)
    return lambda: _finished(home, D3)


def dead_letters(home, workdir, request):
    backfill(home, D1, D2)
    home_with_dead_letters(home, D3, request.getfixturevalue("monkeypatch"))
    assert not _finished(home, D3)
    return lambda: _finished(home, D3)


def empty(home, workdir, request):
    return lambda: all(_finished(home, day) for day in days(D1, D4))


def correction(home, workdir, request):
    from shared.pipeline.runner import Pipeline, RunOptions
    from tests.exactly_once.test_corrections import copy_of

    data_dir = request.getfixturevalue("data_dir")
    original = copy_of(data_dir, workdir / "original")
    copy_of(data_dir, workdir / "provider", correct=True)  # the provider now serves the corrected 01-13
    with Pipeline(settings_for(home, predictions_enabled=False), RunOptions(source=original)) as pipeline:
        for day in days(date(2025, 1, 13), date(2025, 1, 15)):
            pipeline.run_date(day, checksums=False)

    def corrected() -> bool:
        services = Services(settings_for(home))
        try:
            return not stale_processors(services.documents, date(2025, 1, 15))
        finally:
            services.close()
    return corrected


def evidence_tampered(home, workdir, request):
    from shared.operations.backup import create_backup
    _sportsflow(["validation", "synthetic"], home, workdir)
    create_backup(home, workdir / "backups" / "nightly")
    record = next(p for p in sorted((home / "evidence" / "validation").rglob("*")) if p.is_file() and "~" in p.name
                  and not p.name.endswith("~meta.json"))
    record.chmod(0o644)
    record.write_bytes(record.read_bytes().replace(b'"', b"'", 1))
    return lambda: True  # the block's last line is `evidence verify`, which must pass


def lost_warehouse(home, workdir, request):
    from shared.operations.backup import create_backup
    backfill(home, D1, D2)
    before = checksums(home, [D1, D2])
    create_backup(home, workdir / "backups" / "nightly")
    (home / "warehouse.duckdb").unlink()  # the disk holding the warehouse was lost
    return lambda: checksums(home, [D1, D2]) == before


def failover(home, workdir, request):
    backfill(home, D1, D3)
    return lambda: _finished(workdir / "rebuilt", D3) and _finished(workdir / "rebuilt", D4)


STATES: dict[str, Callable] = {f.__name__: f for f in (outage, stuck_fan_in, held, dead_letters, empty, correction,
                                                         evidence_tampered, lost_warehouse, failover)}


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORTSFLOW_")}
    env.update(SPORTSFLOW_HOME=str(home), PYTHONPATH=str(REPO_ROOT), PATH=f"{Path(sys.executable).parent}:"
                                                                           f"{env.get('PATH', '')}")
    return env


def _sportsflow(args: list[str], home: Path, workdir: Path) -> None:
    subprocess.run([sys.executable, "-m", "shared.cli.app", *args], cwd=workdir, env=_environment(home), check=True,
                   capture_output=True, timeout=600)


# --- the tests ----------------------------------------------------------------------------------
def test_the_runbook_has_every_section_with_commands_that_run_locally():
    titles = [block.section for block in BLOCKS if block.state]
    assert set(SECTIONS) <= set(titles), f"missing local command blocks: {set(SECTIONS) - set(titles)}"
    assert {block.state for block in BLOCKS if block.state} <= set(STATES)
    assert all(block.lines for block in BLOCKS)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.state], ids=lambda b: b.id)
def test_every_local_command_of_the_runbook_runs(block, tmp_path, request):
    workdir, home = tmp_path / "work", tmp_path / "home"
    workdir.mkdir()
    achieved = STATES[block.state](home, workdir, request)
    shim = tmp_path / "bin"  # `sportsflow` on PATH is this checkout's CLI, whatever is installed
    shim.mkdir()
    (shim / "sportsflow").write_text(f"#!/bin/sh\nexec {sys.executable} -m shared.cli.app \"$@\"\n")
    (shim / "sportsflow").chmod(0o755)
    env = _environment(home)
    env["PATH"] = f"{shim}:{env['PATH']}"
    for line in block.lines:
        expected = int(_EXIT.search(line).group(1)) if _EXIT.search(line) else 0
        result = subprocess.run(["bash", "-c", line], cwd=workdir, env=env, capture_output=True, text=True,
                                timeout=900)
        assert result.returncode == expected, (f"{block.id}: `{line}` exited {result.returncode}, expected "
                                               f"{expected}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    assert achieved(), f"{block.id}: the commands ran but did not achieve what the section promises"


# --- production lines ---------------------------------------------------------------------------
GCLOUD_COMMANDS: dict[tuple[str, ...], frozenset[str]] = {
    ("gcloud", "scheduler", "jobs", "run"): frozenset({"--location"}),
    ("gcloud", "pubsub", "subscriptions", "describe"): frozenset(),
    ("gcloud", "firestore", "backups", "list"): frozenset({"--location"}),
    ("gcloud", "firestore", "databases", "restore"): frozenset({"--source-backup", "--destination-database"}),
    ("gcloud", "storage", "ls"): frozenset(),
    ("gcloud", "storage", "cp"): frozenset({"--recursive"}),
    ("gcloud", "storage", "objects", "describe"): frozenset(),
    ("bq", "ls"): frozenset({"--max_results"}),
    ("bq", "cp"): frozenset({"--restore", "--no_clobber"}),
    ("terraform", "-chdir=infra", "plan"): frozenset({"-var"}),
}
BUCKETS = re.compile(r"gs://PROJECT-sportsflow-(evidence|raw)(-replica)?(/|$)")


def _production_lines() -> list[str]:
    return [line for block in BLOCKS if not block.state for line in block.lines]


@pytest.mark.parametrize("line", [line for line in _production_lines() if line.startswith("sportsflow ")])
def test_every_production_sportsflow_line_parses_with_the_real_cli(line):
    import click
    import typer.main

    from shared.cli.app import app
    command, args = typer.main.get_command(app), shlex.split(line)[1:]
    context = command.make_context("sportsflow", list(args), resilient_parsing=False)
    while isinstance(command, click.Group):  # walk down to the leaf command, parsing each level's options
        name, command, rest = command.resolve_command(context, context.protected_args + context.args)
        context = command.make_context(name, rest, parent=context, resilient_parsing=False)
    assert not isinstance(command, click.Group) and context.command is command


@pytest.mark.parametrize("line", [line for line in _production_lines() if not line.startswith("sportsflow ")])
def test_every_production_cloud_line_uses_known_commands_and_flags_and_real_resources(line):
    from shared.topology import TOPOLOGY
    words = shlex.split(line)
    prefix = next((p for p in GCLOUD_COMMANDS if tuple(words[:len(p)]) == p), None)
    assert prefix, f"`{line}`: not a command this runbook may use ({sorted(GCLOUD_COMMANDS)})"
    flags = {word.split("=", 1)[0] for word in words[len(prefix):] if word.startswith("-")}
    assert flags <= GCLOUD_COMMANDS[prefix], f"`{line}`: unknown flags {flags - GCLOUD_COMMANDS[prefix]}"
    operands = [word for word in words[len(prefix):] if not word.startswith("-")]
    if prefix[-2:] == ("jobs", "run"):
        assert set(operands) <= {job.name for job in TOPOLOGY.scheduler_jobs}
    if prefix[-2:] == ("subscriptions", "describe"):
        assert set(operands) <= {sub.name for sub in TOPOLOGY.subscriptions}
    for operand in operands:
        if operand.startswith("gs://"):
            assert BUCKETS.match(operand), f"`{line}`: {operand} is no bucket infra/ creates"
    if prefix[0] == "bq":
        datasets = {spec.dataset for spec in _table_specs()} | {"backups"}
        for operand in operands:
            assert operand.split(".")[0].split("@")[0] in datasets, f"`{line}`: {operand} names no dataset"
    if prefix[0] == "terraform":
        variables = _terraform_variables()
        for word in words:
            if word.startswith("-var="):
                assert word[5:].split("=")[0] in variables, f"`{line}`: no variable {word}"


def _table_specs():
    from shared.pipeline.tables import pipeline_tables
    return pipeline_tables()


def _terraform_variables() -> set[str]:
    import hcl2
    names: set[str] = set()
    for path in (REPO_ROOT / "infra").glob("*.tf"):
        with path.open() as f:
            for variable in hcl2.load(f).get("variable", []):
                names |= {name.strip('"') for name in variable}
    return names


def test_the_block_parser_reads_states_lines_and_exit_codes():
    text = ("## A thing\n<!-- runbook: local, state: empty -->\n```bash\n# a comment\nsportsflow a  # exit 1\n"
            "sportsflow b\n```\n<!-- runbook: production -->\n```bash\ngcloud storage ls gs://x\n```\n")
    [local, production] = runbook_blocks(text)
    assert local == Block("A thing", "empty", ("sportsflow a  # exit 1", "sportsflow b"))
    assert production.state is None and production.lines == ("gcloud storage ls gs://x",)
    assert _EXIT.search(local.lines[0]).group(1) == "1"
    assert shutil.which("bash")
