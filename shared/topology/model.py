"""The shapes of the topology: topics, subscriptions, functions, phases, schedules.

Only types live here; the one description of *our* system is `definition.TOPOLOGY`.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEAD_LETTER_SUFFIX = "-dead-letter"
ACCESS_TOKEN = re.compile(r"documents|bigquery:(read|write):[a-z][a-z0-9_]*|(evidence|raw):(read|write)")
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopicSpec(_Frozen):
    name: str = Field(min_length=3)
    message_type: str = Field(description="contracts registry name of the payload published here")
    description: str = ""

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.name}{DEAD_LETTER_SUFFIX}"


class SubscriptionSpec(_Frozen):
    name: str = Field(min_length=3)
    topic: str
    dead_letter_topic: str | None
    max_delivery_attempts: int = Field(default=5, ge=5, le=100)
    min_backoff_s: float = Field(default=10, ge=0, le=600)
    max_backoff_s: float = Field(default=600, ge=0, le=600)
    ack_deadline_s: int = Field(default=60, ge=10, le=600)
    enable_ordering: bool = False
    push_function: str | None = Field(default=None, description="function receiving pushes; None = pull")
    push_path: str = ""

    @model_validator(mode="after")
    def _backoff_order(self) -> "SubscriptionSpec":
        if self.min_backoff_s > self.max_backoff_s:
            raise ValueError("min_backoff_s must not exceed max_backoff_s")
        return self


class FunctionSpec(_Frozen):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    phase: int
    description: str
    trigger: Literal["topic", "http"]
    trigger_topic: str | None = None
    handler: str = Field(description="dotted path module:callable of the shared-library handler")
    publishes: tuple[str, ...] = ()
    http_paths: tuple[str, ...] = ()
    timeout_s: int = Field(default=540, ge=1, le=3600)
    memory_mb: int = 512
    max_instances: int = 10
    concurrency: int = 1
    api: bool = Field(default=False, description="clients outside the platform (var.api_invokers) may call it")
    http_methods: dict[str, tuple[HttpMethod, ...]] = Field(
        default_factory=dict, description="path -> the methods it serves; a path not listed serves POST only")
    max_body_bytes: int = Field(default=64 * 1024, ge=0, le=32 * 1024 * 1024,
                                description="larger request bodies are refused with 413 before being read")
    access: tuple[str, ...] = Field(
        default=(), description="what its code reads and writes besides the topics it publishes, and so exactly "
                                "the grants Terraform gives its service account: 'documents', "
                                "'bigquery:read:<dataset>', 'bigquery:write:<dataset>', 'evidence:read', "
                                "'evidence:write', 'raw:read', 'raw:write' (shared/topology/grants.py)")
    invocation_log: Literal["each", "aggregated"] = Field(
        default="each", description="each: an INFO 'started' line per invocation; aggregated: those lines at "
                                    "DEBUG and one INFO 'invocations' line every 100 invocations or 30 s, "
                                    "by outcome (functions called hundreds of times a second)")
    rate_limit_per_minute: int | None = Field(
        default=120, ge=1, description="requests per caller identity per instance; None = no limit "
                                       "(functions only the platform's push and scheduler identities call)")

    @model_validator(mode="after")
    def _trigger_consistent(self) -> "FunctionSpec":
        if (self.trigger == "topic") != (self.trigger_topic is not None):
            raise ValueError(f"{self.name}: trigger_topic is required exactly for topic triggers")
        bad_access = [token for token in self.access if not ACCESS_TOKEN.fullmatch(token)]
        if bad_access:
            raise ValueError(f"{self.name}: unknown access {bad_access}: use documents, bigquery:read|write:<dataset>, "
                             f"evidence:read|write, raw:read|write")
        unknown = sorted(set(self.http_methods) - set(self.http_paths))
        if unknown:
            raise ValueError(f"{self.name}: http_methods names paths it does not serve: {unknown}")
        return self

    def methods_of(self, path: str) -> tuple[str, ...]:
        """The methods a route serves (GET implies HEAD, as HTTP servers answer HEAD like GET)."""
        methods = self.http_methods.get(path, ("POST",))
        return (*methods, "HEAD") if "GET" in methods and "HEAD" not in methods else tuple(methods)


class SchedulerJobSpec(_Frozen):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    schedule: str = Field(description="unix-cron")
    time_zone: str = "America/Los_Angeles"
    target_function: str
    http_path: str = "/"
    http_method: Literal["GET", "POST"] = "POST"
    body: dict = Field(default_factory=dict)
    description: str = ""


class PhaseSpec(_Frozen):
    number: int
    name: str
    description: str
    processors: tuple[str, ...] = ()


class Topology(_Frozen):
    topics: tuple[TopicSpec, ...]
    subscriptions: tuple[SubscriptionSpec, ...]
    functions: tuple[FunctionSpec, ...]
    scheduler_jobs: tuple[SchedulerJobSpec, ...]
    phases: tuple[PhaseSpec, ...]
    phase3_required: frozenset[str]
    phase3_graph: dict[str, tuple[str, ...]] = Field(description="Phase 3 processor -> raw (Phase 2) parents")
    phase4_graph: dict[str, tuple[str, ...]] = Field(description="node -> parents (Phase 3 or Phase 4 processors)")
    phase4_final: str

    @model_validator(mode="after")
    def _references_resolve(self) -> "Topology":
        topics = {t.name for t in self.topics} | {t.dead_letter_topic for t in self.topics}
        functions = {f.name for f in self.functions}
        problems: list[str] = []
        for sub in self.subscriptions:
            if sub.topic not in topics:
                problems.append(f"subscription {sub.name}: unknown topic {sub.topic}")
            if sub.dead_letter_topic and sub.dead_letter_topic not in topics:
                problems.append(f"subscription {sub.name}: unknown dead-letter topic {sub.dead_letter_topic}")
            if sub.push_function and sub.push_function not in functions:
                problems.append(f"subscription {sub.name}: unknown function {sub.push_function}")
        for fn in self.functions:
            for t in fn.publishes + ((fn.trigger_topic,) if fn.trigger_topic else ()):
                if t not in topics:
                    problems.append(f"function {fn.name}: unknown topic {t}")
        for job in self.scheduler_jobs:
            if job.target_function not in functions:
                problems.append(f"scheduler job {job.name}: unknown function {job.target_function}")
        raw = set(next((p.processors for p in self.phases if p.number == 2), ()))
        if set(self.phase3_graph) != set(self.phase3_required):
            problems.append("phase3_graph must list exactly the Phase 3 required processors")
        for node, parents in self.phase3_graph.items():
            problems += [f"phase3 node {node}: unknown raw parent {p}" for p in parents if p not in raw]
        known_nodes = set(self.phase4_graph) | set(self.phase3_required)
        for node, parents in self.phase4_graph.items():
            problems += [f"phase4 node {node}: unknown parent {p}" for p in parents if p not in known_nodes]
        if self.phase4_final not in self.phase4_graph:
            problems.append(f"phase4_final {self.phase4_final} is not a phase4 node")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # --- look-ups used by the runtime, orchestrators and renderers -----------------
    def topic(self, name: str) -> TopicSpec:
        return _one(self.topics, name, "topic")

    def function(self, name: str) -> FunctionSpec:
        return _one(self.functions, name, "function")

    def subscription(self, name: str) -> SubscriptionSpec:
        return _one(self.subscriptions, name, "subscription")

    def subscriptions_of(self, topic: str) -> tuple[SubscriptionSpec, ...]:
        return tuple(s for s in self.subscriptions if s.topic == topic)

    def subscription_for_function(self, function: str) -> SubscriptionSpec | None:
        return next((s for s in self.subscriptions if s.push_function == function), None)

    def phase4_levels(self) -> list[list[str]]:
        """Phase 4 nodes grouped by depth (level 1 = only Phase 3 parents)."""
        depth: dict[str, int] = {}

        def level(node: str) -> int:
            if node not in self.phase4_graph:
                return 0
            if node not in depth:
                depth[node] = 1 + max((level(p) for p in self.phase4_graph[node]), default=0)
            return depth[node]

        for node in self.phase4_graph:
            level(node)
        return [sorted(n for n, d in depth.items() if d == k) for k in range(1, max(depth.values()) + 1)]


def _one(items, name: str, kind: str):
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {kind} named {name!r} in the topology")
