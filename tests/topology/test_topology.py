"""The one topology: internally consistent, as SPEC §1 says, and agreed with by docs and functions/."""
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.cli.app import app
from shared.contracts import registry
from shared.runtime.handlers import is_implemented, resolve_handler
from shared.topology import TOPOLOGY
from shared.topology.model import SubscriptionSpec, Topology
from shared.topology.render import as_mermaid

REPO = Path(__file__).resolve().parents[2]
README_DIAGRAM = re.compile(r"<!-- topology:begin -->\n```mermaid\n(.*?)```\n<!-- topology:end -->", re.S)


def test_phase3_required_set_and_phase4_levels_are_the_specs():
    assert TOPOLOGY.phase3_required == {"player_game_summary", "team_offense_game_summary",
                                        "team_defense_game_summary", "upcoming_player_game_context",
                                        "upcoming_team_game_context"}
    assert TOPOLOGY.phase4_levels() == [
        ["player_daily_cache", "player_shot_zone_analysis", "team_defense_zone_analysis"],
        ["player_composite_factors"],
        ["ml_feature_store_v2"],
    ]
    assert "upcoming_player_game_context" in TOPOLOGY.phase4_graph["player_composite_factors"]
    assert TOPOLOGY.phase4_final == "ml_feature_store_v2"


def test_every_topic_carries_a_registered_contract():
    for topic in TOPOLOGY.topics:
        assert registry.is_known_type(topic.message_type), topic.name


def test_every_topic_triggered_function_has_one_push_subscription_with_a_dead_letter_topic():
    for fn in (f for f in TOPOLOGY.functions if f.trigger == "topic"):
        subs = [s for s in TOPOLOGY.subscriptions if s.push_function == fn.name and s.topic == fn.trigger_topic]
        assert len(subs) == 1, fn.name
        assert subs[0].dead_letter_topic == TOPOLOGY.topic(fn.trigger_topic).dead_letter_topic


def test_every_dead_letter_topic_is_kept_by_a_pull_sink():
    sinks = {s.topic for s in TOPOLOGY.subscriptions if s.push_function is None}
    assert {t.dead_letter_topic for t in TOPOLOGY.topics} <= sinks


def test_phase5_schedules_are_the_specs():
    schedules = {(j.target_function, j.http_path, j.schedule, j.time_zone) for j in TOPOLOGY.scheduler_jobs}
    pt = "America/Los_Angeles"
    assert {("phase5_coordinator", "/start", "0 6 * * *", pt), ("phase5_coordinator", "/retry", "15 6 * * *", pt),
            ("phase5_coordinator", "/retry", "30 6 * * *", pt),
            ("phase5_coordinator", "/status", "0 7 * * *", pt)} <= schedules


def test_broken_references_are_refused():
    data = TOPOLOGY.model_dump()
    data["subscriptions"] = [*data["subscriptions"], SubscriptionSpec(
        name="orphan", topic="no-such-topic", dead_letter_topic=None).model_dump()]
    with pytest.raises(ValueError, match="unknown topic no-such-topic"):
        Topology.model_validate(data)


def test_readme_diagram_is_the_generated_one():
    found = README_DIAGRAM.search((REPO / "README.md").read_text())
    assert found, "README.md lacks the topology block"
    assert found.group(1) == as_mermaid(TOPOLOGY), (
        "README's diagram is stale: paste the output of `sportsflow topology -f mermaid` between the markers")


def test_function_folders_are_topology_functions_with_resolvable_handlers():
    names = {f.name for f in TOPOLOGY.functions}
    for main in (REPO / "functions").glob("*/main.py"):
        name = main.parent.name
        assert name in names, f"functions/{name} is not in the topology"
        resolve_handler(TOPOLOGY.function(name))
        assert f'"{name}"' in main.read_text(), f"functions/{name}/main.py must serve its own topology entry"
    for fn in TOPOLOGY.functions:
        if is_implemented(fn) and fn.trigger == "topic":
            assert (REPO / "functions" / fn.name / "main.py").exists(), f"{fn.name} has no entry point"


def test_cli_prints_every_format():
    runner = CliRunner()
    table = runner.invoke(app, ["topology"], terminal_width=200)
    assert table.exit_code == 0 and "Phase 4 dependency graph" in table.output
    mermaid = runner.invoke(app, ["topology", "-f", "mermaid"])
    assert mermaid.output == as_mermaid(TOPOLOGY)
    assert json.loads(runner.invoke(app, ["topology", "-f", "json"]).output)["phase4_final"] == "ml_feature_store_v2"
    assert set(json.loads(runner.invoke(app, ["topology", "-f", "tfvars"]).output)) == {
        "topics", "subscriptions", "functions", "scheduler_jobs", "bigquery_tables"}


def test_push_ack_deadline_outlasts_the_function_so_running_work_is_not_redelivered():
    for sub in (s for s in TOPOLOGY.subscriptions if s.push_function):
        assert sub.ack_deadline_s >= TOPOLOGY.function(sub.push_function).timeout_s, sub.name
