"""The topology as people and tools read it: rich tables, a Mermaid diagram, Terraform variables."""
from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.table import Table

from shared.topology.model import Topology


def as_tables(topology: Topology, implemented: dict[str, bool] | None = None) -> Group:
    implemented = implemented or {}
    functions = Table("function", "phase", "trigger", "publishes", "implemented", title="Functions")
    for fn in topology.functions:
        trigger = fn.trigger_topic if fn.trigger == "topic" else "http " + " ".join(fn.http_paths)
        functions.add_row(fn.name, str(fn.phase), trigger, ", ".join(fn.publishes),
                          "yes" if implemented.get(fn.name) else "not yet")
    topics = Table("topic", "message", "dead-letter topic", title="Topics")
    for t in topology.topics:
        topics.add_row(t.name, t.message_type, t.dead_letter_topic)
    subs = Table("subscription", "topic", "push to", "max attempts", "backoff s", "ack s", "ordered",
                 title="Subscriptions")
    for s in topology.subscriptions:
        target = f"{s.push_function}{s.push_path}" if s.push_function else "pull"
        subs.add_row(s.name, s.topic, target, str(s.max_delivery_attempts),
                     f"{s.min_backoff_s:g}–{s.max_backoff_s:g}", str(s.ack_deadline_s), "yes" if s.enable_ordering else "")
    jobs = Table("scheduler job", "schedule", "time zone", "target", title="Cloud Scheduler")
    for j in topology.scheduler_jobs:
        jobs.add_row(j.name, j.schedule, j.time_zone, f"{j.http_method} {j.target_function}{j.http_path}")
    graph = Table("level", "Phase 4 node", "waits for", title="Phase 4 dependency graph")
    for level, nodes in enumerate(topology.phase4_levels(), start=1):
        for node in nodes:
            graph.add_row(str(level), node, ", ".join(topology.phase4_graph[node]) or "Phase 3 → Phase 4 trigger")
    return Group(functions, topics, subs, jobs, graph)


def as_mermaid(topology: Topology) -> str:
    lines = ["flowchart LR"]
    for job in topology.scheduler_jobs:
        lines.append(f'  sched_{_id(job.name)}(["⏰ {job.name}<br/>{job.schedule}"]) -->|{job.http_method} '
                     f'{job.http_path}| fn_{job.target_function}')
    for topic in topology.topics:
        lines.append(f'  topic_{_id(topic.name)}[/"{topic.name}"/]')
    for fn in topology.functions:
        lines.append(f'  fn_{fn.name}["{fn.name}"]')
        for published in fn.publishes:
            lines.append(f"  fn_{fn.name} --> topic_{_id(published)}")
    for sub in topology.subscriptions:
        if sub.push_function:
            label = f"|{sub.push_path}|" if sub.push_path else ""
            lines.append(f"  topic_{_id(sub.topic)} -->{label} fn_{sub.push_function}")
    return "\n".join(lines) + "\n"


def as_terraform_variables(topology: Topology) -> dict[str, Any]:
    """What infra/ iterates over (written to infra/topology.auto.tfvars.json)."""
    return {
        "topics": {t.name: {"message_type": t.message_type, "dead_letter_topic": t.dead_letter_topic}
                   for t in topology.topics},
        "subscriptions": {s.name: {"topic": s.topic, "dead_letter_topic": s.dead_letter_topic,
                                   "max_delivery_attempts": s.max_delivery_attempts,
                                   "min_backoff": f"{s.min_backoff_s:g}s", "max_backoff": f"{s.max_backoff_s:g}s",
                                   "ack_deadline_seconds": s.ack_deadline_s,
                                   "enable_message_ordering": s.enable_ordering,
                                   "push_function": s.push_function, "push_path": s.push_path}
                          for s in topology.subscriptions},
        "functions": {f.name: {"description": f.description, "trigger": f.trigger,
                               "trigger_topic": f.trigger_topic, "publishes": list(f.publishes),
                               "timeout_seconds": f.timeout_s, "memory_mb": f.memory_mb,
                               "max_instances": f.max_instances, "concurrency": f.concurrency, "api": f.api,
                               "access": list(f.access)}
                      for f in topology.functions},
        "scheduler_jobs": {j.name: {"schedule": j.schedule, "time_zone": j.time_zone,
                                    "target_function": j.target_function, "http_path": j.http_path,
                                    "http_method": j.http_method, "body": json.dumps(j.body, sort_keys=True),
                                    "description": j.description}
                           for j in topology.scheduler_jobs},
        "bigquery_tables": bigquery_tables(),
    }


def bigquery_tables() -> dict[str, Any]:
    """Every warehouse table the pipeline writes, as infra/ declares them (var.bigquery_tables)."""
    from shared.pipeline.run_history import RUN_HISTORY_TABLE
    from shared.pipeline.tables import pipeline_tables

    return {spec.qualified_name: {
        "dataset": spec.dataset, "table": spec.name, "partition_field": spec.partition_field,
        "clustering": list(spec.clustering), "description": spec.description,
        "schema": json.dumps([{"name": f.name, "type": f.type, "mode": f.mode, "description": f.description}
                              for f in spec.fields]),
    } for spec in [*pipeline_tables(), RUN_HISTORY_TABLE]}


def as_json(topology: Topology) -> str:
    return topology.model_dump_json(indent=2)


def _id(name: str) -> str:
    return name.replace("-", "_")
