"""Observation 3 of issue #11: each function's grants are what its topology entry declares,
on the resource, and what it declares is what its code can call."""
from __future__ import annotations

import ast
import json
import re
from datetime import date
from pathlib import Path

import flask
import pytest
from werkzeug.test import EnvironBuilder

from shared.adapters.local.bus import LocalBus
from shared.bootstrap import Services
from shared.config import Settings
from shared.pipeline.phase1 import SCRAPER_PATHS, handle_scrape_request
from shared.providers.synthetic import SyntheticSource
from shared.topology import TOPOLOGY

REPO = Path(__file__).resolve().parents[2]
IAM = (REPO / "infra" / "function_iam.tf").read_text()
PORTS = {"documents": "documents", "warehouse": "bigquery", "evidence": "evidence", "raw_payloads": "raw"}


def _kinds(access) -> set[str]:
    return {token.split(":")[0] for token in access}


def test_terraform_grants_per_function_from_its_declared_access_never_to_every_function():
    assert "setproduct(keys(var.functions)" not in IAM, "a grant to every function: declare access per function"
    for token_source in ("fn.access", "contains(fn.access, \"documents\")", "startswith(token, \"bigquery:\")"):
        assert token_source in IAM
    project_roles = set(re.findall(r'role = "(roles/[a-zA-Z.]+)" }\n\s+if ', IAM))
    assert project_roles == {"roles/datastore.user", "roles/bigquery.jobUser"}  # no resource-level IAM exists


def test_terraform_and_the_grant_table_map_access_to_the_same_roles():
    from shared.topology.grants import BUCKET_ROLES, DATASET_ROLES
    for mode, role in DATASET_ROLES.items():
        assert f'"{mode}" ? "{role}"' in IAM or f'"{role}"' in IAM
    for token, grants in BUCKET_ROLES.items():
        block = IAM[IAM.index(f'"{token}" = ['):]
        block = block[:block.index("]")]
        bucket = token.split(":")[0]
        assert block.count(f"google_storage_bucket.{bucket}.name") == len(grants)
        for _resource, role in grants:
            assert role.startswith("sportsflow") and "evidence_retention_setter" in block or f'"{role}"' in block


def test_phase1_needs_no_bigquery_or_firestore_and_orchestrators_write_no_evidence():
    from shared.topology.grants import grants_of
    phase1 = grants_of(TOPOLOGY.function("phase1_scrapers"), TOPOLOGY)
    assert {g.resource for g in phase1} == {"bucket:raw", "topic:phase1-scrapers-complete"}
    for name in ("phase2_to_phase3_orchestrator", "phase3_to_phase4_orchestrator", "phase4_orchestrator"):
        assert not any(g.resource.startswith("bucket:") for g in grants_of(TOPOLOGY.function(name), TOPOLOGY))
    assert not any(g.resource == "project" and "storage" in g.role
                   for spec in TOPOLOGY.functions for g in grants_of(spec, TOPOLOGY))


def test_declared_datasets_exist_in_terraform():
    variables = (REPO / "infra" / "variables.tf").read_text()
    datasets = set(re.findall(r'"([a-z_]+)"', variables[variables.index('variable "bigquery_datasets"'):]
                              .split("}")[0]))
    for spec in TOPOLOGY.functions:
        for token in spec.access:
            if token.startswith("bigquery:"):
                assert token.split(":")[2] in datasets, (spec.name, token)


def test_the_generated_tfvars_carry_each_functions_access():
    tfvars = json.loads((REPO / "infra" / "topology.auto.tfvars.json").read_text())
    assert {name: fn["access"] for name, fn in tfvars["functions"].items()} == \
        {spec.name: list(spec.access) for spec in TOPOLOGY.functions}


# --- what the code calls ---------------------------------------------------------------------

class _Refused:
    """A port a function was not granted: any use fails the test."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        if attribute == "close":
            return lambda: None
        raise AssertionError(f"phase1_scrapers used services.{self._name}.{attribute} without a grant for it")


class _Client:
    def get_json(self, path, params):
        scraper = {v: k for k, v in SCRAPER_PATHS.items()}[path]
        return SyntheticSource(seed=2).payload(scraper, date.fromisoformat(params["date"])).model_dump(mode="json")

    def close(self):
        pass


def test_phase1_calls_exactly_the_raw_store_and_its_topic(tmp_path):
    from shared.adapters.local.raw_payloads import FileRawPayloadStore
    bus = LocalBus()
    bus.create_topic("phase1-scrapers-complete")
    services = Services.with_adapters(Settings(home=tmp_path), bus=bus, raw_payloads=FileRawPayloadStore(tmp_path),
                                      documents=_Refused("documents"), warehouse=_Refused("warehouse"),
                                      evidence=_Refused("evidence"))
    request = flask.Request(EnvironBuilder(path="/", method="POST",
                                           json={"scrapers": "all", "date": "2025-01-15"}).get_environ())
    assert handle_scrape_request(request, services=services, client=_Client()).status_code == 200
    assert TOPOLOGY.function("phase1_scrapers").access == ("raw:write",)


def _module_path(module: str) -> Path | None:
    base = REPO / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(module: str) -> set[str]:
    tree = ast.parse(_module_path(module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if _module_path(f"{node.module}.{alias.name}")}
    return {m for m in found if _module_path(m)}


def _ports_used(path: Path) -> set[str]:
    text = path.read_text()
    return {kind for port, kind in PORTS.items() if re.search(rf"\.{port}\b", text)}


def _reachable_ports(module: str) -> set[str]:
    """Every port any module the handler can import uses: an upper bound of what it may call."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen or current.startswith(("shared.adapters", "shared.cli")) or current == "shared.bootstrap":
            continue
        seen.add(current)
        todo += _imports(current)
    return set().union(*(_ports_used(_module_path(m)) for m in seen))


@pytest.mark.parametrize("spec", TOPOLOGY.functions, ids=lambda spec: spec.name)
def test_each_declared_access_is_one_the_code_can_use_and_each_direct_use_is_declared(spec):
    handler_module = spec.handler.split(":")[0]
    declared = _kinds(spec.access)
    assert declared <= _reachable_ports(handler_module), f"{spec.name} is granted what its code never calls"
    assert _ports_used(_module_path(handler_module)) <= declared, f"{spec.name}'s handler calls an undeclared port"


def test_the_grant_table_lists_every_function():
    from shared.topology.grants import grant_table
    table = grant_table(TOPOLOGY)
    assert all(f"| {spec.name} |" in table for spec in TOPOLOGY.functions if spec.publishes or spec.access)


def test_the_infra_readme_grant_table_is_the_topologys():
    from shared.topology.grants import grant_table
    readme = (REPO / "infra" / "README.md").read_text()
    shown = readme[readme.index("<!-- grants:begin -->\n") + len("<!-- grants:begin -->\n"):
                   readme.index("<!-- grants:end -->")]
    assert shown == grant_table(TOPOLOGY), "regenerate the table: python -c 'from shared.topology import " \
                                           "TOPOLOGY; from shared.topology.grants import grant_table; " \
                                           "print(grant_table(TOPOLOGY), end=\"\")'"
