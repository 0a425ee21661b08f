"""Drift between infra/ and the code: what Terraform would create, instance by instance, against the
topology (shared/topology/definition.py), the warehouse's TableSpecs and the functions on disk.

Terraform cannot plan here (no provider), so the resources that iterate over the topology variables
are expanded with the committed `topology.auto.tfvars.json` and the variables' defaults, and each
setting the topology names is evaluated for each instance: references (`each.key`, `each.value.x`,
`var.x`, a `dynamic` block's iterator), string templates and `x == null ? [] : [y]`. References to
other resources and locals stay symbolic (`local.function_urls[reconciler]`), which is enough to say
*which* function a subscription pushes to. An expression outside that subset is reported as a
problem, never guessed: the check fails closed.

    python scripts/terraform_drift.py [--infra infra]   # exit 1 and one line per drift
"""
from __future__ import annotations

import argparse
import ast
import functools
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[1]
TFVARS = "topology.auto.tfvars.json"
RUNTIME = "python311"
ENTRY_POINT = "handle"
_PLAIN = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
_INTERPOLATION = re.compile(r"\$\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_CONDITIONAL_ON_NULL = re.compile(r"^(?P<test>[\w.\[\]\"]+) (?P<op>==|!=) null \? (?P<yes>.+?) : (?P<no>.+)$")
_PATH_PART = re.compile(r"\.(\w+)|\[([^\[\]]+)\]")


class Unevaluable(ValueError):
    """An expression outside the subset this check evaluates."""


@dataclass(frozen=True)
class Symbol:
    """A reference to something only Terraform knows (another resource's attribute, a local)."""
    path: str

    def __str__(self) -> str:
        return self.path


# --- the configuration as Terraform reads it ----------------------------------------------
class Configuration:
    def __init__(self, infra: Path):
        self.infra = infra
        self.documents = {path.name: _parsed(path.read_text()) for path in sorted(infra.glob("*.tf"))}
        self.variables = self._variables(json.loads((infra / TFVARS).read_text()))

    def _variables(self, tfvars: dict[str, Any]) -> dict[str, Any]:
        values = {}
        for document in self.documents.values():
            for block in document.get("variable", []):
                for name, body in block.items():
                    if "default" in body:
                        values[name] = body["default"]
        return {**values, **tfvars}

    def resources(self, resource_type: str) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for document in self.documents.values():
            for block in document.get("resource", []):
                found.update(block.get(resource_type, {}))
        return found

    def instances(self, resource_type: str, name: str) -> dict[str, "Instance"]:
        """Each instance Terraform would create, by its each.key."""
        body = self.resources(resource_type).get(name)
        if body is None:
            return {}
        if "for_each" not in body:
            return {"": Instance(self, body, {})}
        keys = evaluate(body["for_each"], {"var": self.variables})
        if isinstance(keys, list):
            keys = {key: key for key in keys}
        if not isinstance(keys, dict):
            raise Unevaluable(f"{resource_type}.{name}: for_each {body['for_each']!r}")
        return {key: Instance(self, body, {"each": {"key": key, "value": value}, "var": self.variables})
                for key, value in keys.items()}


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> dict[str, Any]:
    """One .tf file (parsing is slow; unchanged files are parsed once; never mutated)."""
    return hcl2.loads(text, serialization_options=_PLAIN)


@dataclass
class Instance:
    configuration: Configuration
    body: dict[str, Any]
    scope: dict[str, Any]

    def get(self, *path: str) -> Any:
        """An argument or a nested block's argument, evaluated; blocks are lists of bodies."""
        node: Any = self.body
        scope = self.scope
        for part in path:
            if isinstance(node, list):
                if len(node) != 1:
                    raise Unevaluable(f"{'.'.join(path)}: {len(node)} {part!r} blocks")
                node = node[0]
            if part in node:
                node = node[part]
                continue
            dynamic, scope = self._dynamic(node, part, scope)
            if dynamic is None:
                return None
            node = dynamic
        return evaluate(node, scope)

    def blocks(self, name: str) -> int:
        """How many `name` blocks this instance has (a dynamic block evaluated)."""
        if name in self.body:
            return len(self.body[name])
        generator = _dynamic_generator(self.body, name)
        return 0 if generator is None else len(evaluate(generator["for_each"], self.scope))

    @staticmethod
    def _dynamic(node: dict, name: str, scope: dict) -> tuple[Any, dict]:
        generator = _dynamic_generator(node, name)
        if generator is None:
            return None, scope
        items = evaluate(generator["for_each"], scope)
        if not items:
            return None, scope
        if len(items) != 1:
            raise Unevaluable(f"dynamic {name}: {len(items)} blocks")
        iterator = generator.get("iterator", name)
        return generator["content"], {**scope, iterator: {"key": 0, "value": items[0]}}


def _dynamic_generator(node: dict, name: str) -> dict | None:
    for block in node.get("dynamic", []):
        if name in block:
            return block[name]
    return None


# --- expressions ---------------------------------------------------------------------------
def evaluate(value: Any, scope: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [evaluate(item, scope) for item in value]
    if isinstance(value, dict):
        return {key: evaluate(item, scope) for key, item in value.items()}
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _INTERPOLATION.fullmatch(value)
    if whole:
        return _expression(whole.group(1).strip(), scope)
    return _INTERPOLATION.sub(lambda m: str(_expression(m.group(1).strip(), scope)), value)


def _expression(text: str, scope: dict[str, Any]) -> Any:
    conditional = _CONDITIONAL_ON_NULL.match(text)
    if conditional:
        is_null = _expression(conditional["test"], scope) is None
        chosen = conditional["yes"] if is_null == (conditional["op"] == "==") else conditional["no"]
        return _expression(chosen.strip(), scope)
    if text.startswith("[") and text.endswith("]") and "[" not in text[1:-1]:
        inner = text[1:-1].strip()
        return [_expression(part.strip(), scope) for part in inner.split(",")] if inner else []
    literal = _literal(text)
    if literal is not _NOT_LITERAL:
        return literal
    if text.startswith("toset(") and text.endswith(")"):
        return sorted(set(_expression(text[6:-1], scope)))
    return _reference(text, scope)


_NOT_LITERAL = object()


def _literal(text: str) -> Any:
    if text in {"true", "false", "null"}:
        return {"true": True, "false": False, "null": None}[text]
    try:
        return ast.literal_eval(text) if re.fullmatch(r'-?\d+(\.\d+)?|"[^"$]*"', text) else _NOT_LITERAL
    except (ValueError, SyntaxError):
        return _NOT_LITERAL


def _reference(text: str, scope: dict[str, Any]) -> Any:
    root = re.match(r"[A-Za-z_]\w*", text)
    if not root:
        raise Unevaluable(text)
    parts = _PATH_PART.findall(text[root.end():])
    if "".join(f".{a}" if a else f"[{i}]" for a, i in parts) != text[root.end():]:
        raise Unevaluable(text)
    known = root.group(0) in scope
    value: Any = scope[root.group(0)] if known else None
    symbol = root.group(0)
    for attribute, index in parts:
        key = attribute or _expression(index.strip(), scope)
        if known:
            if not isinstance(value, dict) or key not in value:
                raise Unevaluable(f"{text}: no {key!r}")
            value = value[key]
        else:
            symbol += f".{key}" if attribute else f"[{key}]"
    return value if known else Symbol(symbol)


# --- the code's side -----------------------------------------------------------------------
def _topology():
    from shared.topology import TOPOLOGY
    return TOPOLOGY


def _table_specs():
    from shared.pipeline.run_history import RUN_HISTORY_TABLE
    from shared.pipeline.tables import pipeline_tables
    return {spec.qualified_name: spec for spec in [*pipeline_tables(), RUN_HISTORY_TABLE]}


def function_entry_points(functions_root: Path) -> dict[str, str]:
    """{function: "pubsub"|"http"} for each functions/<name>/main.py of the thin one-line shape."""
    found = {}
    for main in sorted(functions_root.glob("*/main.py")):
        match = re.search(rf'^{ENTRY_POINT} = (pubsub|http)_entry_point\("(\w+)"\)$', main.read_text(), re.MULTILINE)
        found[main.parent.name] = f"{match.group(1)}:{match.group(2)}" if match else "not the thin entry point"
    return found


# --- the checks ----------------------------------------------------------------------------
def drift(infra: Path, functions_root: Path | None = None) -> list[str]:
    """Every difference between what infra/ would create and what the code names."""
    configuration = Configuration(infra)
    topology = _topology()
    problems: list[str] = []
    for check in (_topics, _subscriptions, _functions, _scheduler_jobs, _warehouse):
        try:
            problems += check(configuration, topology, functions_root or infra.parent / "functions")
        except Unevaluable as err:
            problems.append(f"{check.__name__[1:]}: cannot evaluate {err} (extend scripts/terraform_drift.py)")
    return problems


def _same_names(kind: str, deployed: set[str], named: set[str]) -> list[str]:
    return ([f"{kind} {name}: in the topology, not deployed by infra/" for name in sorted(named - deployed)]
            + [f"{kind} {name}: deployed by infra/, not in the topology" for name in sorted(deployed - named)])


def _compare(kind: str, name: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    return [f"{kind} {name}: {setting} is {actual[setting]!r} in infra/, the topology says {want!r}"
            for setting, want in expected.items() if actual[setting] != want]


def _topics(configuration: Configuration, topology, _functions_root) -> list[str]:
    topics = {key: i.get("name") for key, i in configuration.instances("google_pubsub_topic", "topic").items()}
    dead = {i.get("name") for i in configuration.instances("google_pubsub_topic", "dead_letter").values()}
    problems = _same_names("topic", set(topics.values()), {t.name for t in topology.topics})
    problems += _same_names("dead-letter topic", dead, {t.dead_letter_topic for t in topology.topics})
    return problems


def _subscriptions(configuration: Configuration, topology, _functions_root) -> list[str]:
    deployed = {i.get("name"): i for i in configuration.instances("google_pubsub_subscription",
                                                                   "subscription").values()}
    problems = _same_names("subscription", set(deployed), {s.name for s in topology.subscriptions})
    for spec in topology.subscriptions:
        instance = deployed.get(spec.name)
        if instance is None:
            continue
        expected = {
            "topic": Symbol(f"local.topic_ids_by_name[{spec.topic}]"),
            "ack deadline": spec.ack_deadline_s,
            "ordering": spec.enable_ordering,
            "minimum backoff": f"{spec.min_backoff_s:g}s",
            "maximum backoff": f"{spec.max_backoff_s:g}s",
            "dead-letter topic": spec.dead_letter_topic and Symbol(
                f"local.topic_ids_by_name[{spec.dead_letter_topic}]"),
            "max delivery attempts": spec.max_delivery_attempts if spec.dead_letter_topic else None,
            "push endpoint": spec.push_function and f"local.function_urls[{spec.push_function}]{spec.push_path}",
            "push OIDC identity": spec.push_function and Symbol("google_service_account.push_invoker.email"),
            "push OIDC audience": spec.push_function and Symbol(f"local.function_audiences[{spec.push_function}]"),
        }
        actual = {
            "topic": instance.get("topic"),
            "ack deadline": instance.get("ack_deadline_seconds"),
            "ordering": instance.get("enable_message_ordering"),
            "minimum backoff": instance.get("retry_policy", "minimum_backoff"),
            "maximum backoff": instance.get("retry_policy", "maximum_backoff"),
            "dead-letter topic": instance.get("dead_letter_policy", "dead_letter_topic"),
            "max delivery attempts": instance.get("dead_letter_policy", "max_delivery_attempts"),
            "push endpoint": instance.get("push_config", "push_endpoint"),
            "push OIDC identity": instance.get("push_config", "oidc_token", "service_account_email"),
            "push OIDC audience": instance.get("push_config", "oidc_token", "audience"),
        }
        problems += _compare("subscription", spec.name, expected, actual)
        if instance.get("expiration_policy", "ttl") != "":
            problems.append(f"subscription {spec.name}: may expire for inactivity (expiration_policy ttl must be \"\")")
    return problems


def _functions(configuration: Configuration, topology, functions_root: Path) -> list[str]:
    deployed = configuration.instances("google_cloudfunctions2_function", "function")
    named = {f.name for f in topology.functions}
    on_disk = function_entry_points(functions_root)
    problems = _same_names("function", set(deployed), named)
    problems += [f"function {name}: deployed, but functions/{name}/main.py does not exist (packaging cannot "
                 f"build it)" for name in sorted(set(deployed) - set(on_disk))]
    problems += [f"function {name}: functions/{name}/main.py exists, but the topology does not name it"
                 for name in sorted(set(on_disk) - named)]
    for spec in topology.functions:
        instance = deployed.get(spec.name)
        if instance is None:
            continue
        entry = {"topic": "pubsub", "http": "http"}[spec.trigger]
        expected = {"name": Symbol(f"local.function_ids[{spec.name}]"), "runtime": RUNTIME, "entry point": ENTRY_POINT,
                    "memory": f"{spec.memory_mb}M",
                    "timeout": spec.timeout_s, "max instances": spec.max_instances,
                    "concurrency": spec.concurrency, "event trigger": 0}
        actual = {"name": instance.get("name"), "runtime": instance.get("build_config", "runtime"),
                  "entry point": instance.get("build_config", "entry_point"),
                  "memory": instance.get("service_config", "available_memory"),
                  "timeout": instance.get("service_config", "timeout_seconds"),
                  "max instances": instance.get("service_config", "max_instance_count"),
                  "concurrency": instance.get("service_config", "max_instance_request_concurrency"),
                  # Retries of topic functions are their push subscription's (retry policy, dead letter):
                  # an event trigger would add a second, unbounded retry path.
                  "event trigger": instance.blocks("event_trigger")}
        problems += _compare("function", spec.name, expected, actual)
        if spec.name in on_disk and on_disk[spec.name] != f"{entry}:{spec.name}":
            problems.append(f"function {spec.name}: functions/{spec.name}/main.py must be "
                            f"`{ENTRY_POINT} = {entry}_entry_point(\"{spec.name}\")` (trigger: {spec.trigger})")
        if spec.trigger == "topic":
            pushes = [s.name for s in topology.subscriptions
                      if s.push_function == spec.name and s.topic == spec.trigger_topic]
            if len(pushes) != 1:
                problems.append(f"function {spec.name}: {len(pushes)} push subscriptions from {spec.trigger_topic}")
    return problems


def _scheduler_jobs(configuration: Configuration, topology, _functions_root) -> list[str]:
    deployed = {i.get("name"): i for i in configuration.instances("google_cloud_scheduler_job", "job").values()}
    problems = _same_names("scheduler job", set(deployed), {j.name for j in topology.scheduler_jobs})
    retry = configuration.variables["scheduler_retry"]
    for spec in topology.scheduler_jobs:
        instance = deployed.get(spec.name)
        if instance is None:
            continue
        target = configuration.variables["functions"].get(spec.target_function, {})
        expected = {"schedule": spec.schedule, "time zone": spec.time_zone, "method": spec.http_method,
                    "OIDC identity": Symbol("google_service_account.scheduler_invoker.email"),
                    "OIDC audience": Symbol(f"local.function_audiences[{spec.target_function}]"),
                    "target function": spec.target_function, "path": spec.http_path,
                    "body": json.dumps(spec.body, sort_keys=True), "retry count": retry["retry_count"],
                    "retry minimum backoff": retry["min_backoff_duration"],
                    "retry maximum backoff": retry["max_backoff_duration"]}
        actual = {"schedule": instance.get("schedule"), "time zone": instance.get("time_zone"),
                  "method": instance.get("http_target", "http_method"),
                  "OIDC identity": instance.get("http_target", "oidc_token", "service_account_email"),
                  "OIDC audience": instance.get("http_target", "oidc_token", "audience"),
                  "target function": instance.scope["each"]["value"]["target_function"],
                  "path": instance.scope["each"]["value"]["http_path"],
                  "body": instance.scope["each"]["value"]["body"],
                  "retry count": instance.get("retry_config", "retry_count"),
                  "retry minimum backoff": instance.get("retry_config", "min_backoff_duration"),
                  "retry maximum backoff": instance.get("retry_config", "max_backoff_duration")}
        problems += _compare("scheduler job", spec.name, expected, actual)
        if not target:
            problems.append(f"scheduler job {spec.name}: targets {spec.target_function}, which infra/ does not deploy")
        if retry["retry_count"] < 1:
            problems.append(f"scheduler job {spec.name}: never retried (var.scheduler_retry.retry_count < 1)")
    return problems


def _warehouse(configuration: Configuration, _topology, _functions_root) -> list[str]:
    specs = _table_specs()
    datasets = set(configuration.instances("google_bigquery_dataset", "dataset"))
    problems = _same_names("dataset", datasets, {spec.dataset for spec in specs.values()})
    deployed = configuration.instances("google_bigquery_table", "table")
    problems += _same_names("table", set(deployed), set(specs))
    for name, spec in specs.items():
        instance = deployed.get(name)
        if instance is None:
            continue
        schema = json.loads(instance.get("schema"))
        expected = {"dataset": Symbol(f"google_bigquery_dataset.dataset[{spec.dataset}].dataset_id"),
                    "table id": spec.name,
                    "columns": [(f.name, f.type, f.mode) for f in spec.fields],
                    "partitioning": ("DAY", spec.partition_field), "clustering": list(spec.clustering)}
        actual = {"dataset": instance.get("dataset_id"), "table id": instance.get("table_id"),
                  "columns": [(f["name"], f["type"], f["mode"]) for f in schema],
                  "partitioning": (instance.get("time_partitioning", "type"),
                                   instance.get("time_partitioning", "field")),
                  "clustering": instance.scope["each"]["value"]["clustering"]}
        problems += _compare("table", name, expected, actual)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--infra", type=Path, default=REPO_ROOT / "infra")
    parser.add_argument("--functions", type=Path, default=REPO_ROOT / "functions",
                        help="the functions/<name>/main.py folders packaging builds")
    args = parser.parse_args(argv)
    problems = drift(args.infra, args.functions)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{args.infra}: {len(problems)} drift(s) from the topology")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    sys.exit(main())
