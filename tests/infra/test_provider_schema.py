"""infra/ against the real Google provider schema (hashicorp/google 6.50, from `@cdktf/provider-google`).

The schema is cached in the user's cache directory by scripts/provider_schema.py (npm). Without the
cache and without the npm registry the tests skip when run by hand, and fail under
SPORTSFLOW_REQUIRE_DATA=1 (CI: `.ci/run` fetches the schema first).
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"


def _load_script():
    spec = importlib.util.spec_from_file_location("provider_schema", REPO_ROOT / "scripts" / "provider_schema.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


provider_schema = _load_script()


@pytest.fixture(scope="module")
def schema() -> dict:
    try:
        path = provider_schema.ensure_schema()
    except provider_schema.SchemaUnavailable as err:
        missing = f"Google provider schema unavailable ({err}); run python scripts/provider_schema.py"
        if os.environ.get("SPORTSFLOW_REQUIRE_DATA") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    return provider_schema.json.loads(path.read_text())


@pytest.fixture
def infra_copy(tmp_path) -> Path:
    """A throwaway copy of infra/ to break on purpose."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name} for this test to mean something"
    path.write_text(text.replace(old, new))


def test_the_schema_is_the_pinned_provider_and_has_what_we_use(schema):
    assert schema["provider"] == "registry.terraform.io/hashicorp/google"
    assert schema["provider_version"] == "6.50.0"
    assert len(schema["resources"]) > 1000 and len(schema["data_sources"]) > 300
    subscription = schema["resources"]["google_pubsub_subscription"]
    assert subscription["arguments"]["name"] is True and subscription["arguments"]["topic"] is True
    assert subscription["arguments"]["ack_deadline_seconds"] is False
    assert subscription["blocks"]["push_config"]["blocks"]["oidc_token"]["arguments"]["service_account_email"]


def test_versions_tf_allows_the_schemas_provider_version(schema):
    constraint = re.search(r'google\s*=\s*\{[^}]*version\s*=\s*"~>\s*(\d+)\.', (INFRA / "versions.tf").read_text())
    assert constraint, "versions.tf must pin hashicorp/google with a ~> constraint"
    assert schema["provider_version"].split(".")[0] == constraint.group(1)


def test_every_resource_and_data_source_in_infra_matches_the_provider_schema(schema):
    problems = provider_schema.check_configuration(INFRA, schema)
    assert not problems, "infra/ does not match the google provider schema:\n" + "\n".join(problems)


def test_infra_uses_resources_and_data_sources_the_check_covers(schema):
    text = "".join(path.read_text() for path in INFRA.glob("*.tf"))
    used = set(re.findall(r'^(?:resource|data) "(\w+)"', text, re.MULTILINE))
    assert len(used) > 20 and "google_project" in used
    assert used <= set(schema["resources"]) | set(schema["data_sources"])


@pytest.mark.parametrize("file, old, new, expected", [
    ("pubsub.tf", "ack_deadline_seconds       =", "ack_deadline_second        =",
     "google_pubsub_subscription.subscription: ack_deadline_second is not an argument here "
     "(did you mean ack_deadline_seconds?)"),
    ("pubsub.tf", "minimum_backoff =", "minimum_backof =",
     "retry_policy: minimum_backof is not an argument here (did you mean minimum_backoff?)"),
    ("pubsub.tf", "    content {\n      push_endpoint", "    content {\n      push_endpiont",
     "dynamic push_config: push_endpiont is not an argument here"),
    ("pubsub.tf", "  retry_policy {", "  retry_polcy {",
     "retry_polcy is not a block here (did you mean retry_policy?)"),
    ("bigquery.tf", 'resource "google_bigquery_table"', 'resource "google_bigquery_tables"',
     "the google provider has no resource google_bigquery_tables (did you mean google_bigquery_table?)"),
    ("versions.tf", "  project_id = var.project_id\n}", "  projct_id = var.project_id\n}",
     "data.google_project.this: projct_id is not an argument here"),
    ("versions.tf", "  region  = var.region", "  regoin  = var.region",
     "provider google: regoin is not an argument here (did you mean region?)"),
])
def test_a_misspelt_name_is_caught(schema, infra_copy, file, old, new, expected):
    edit(infra_copy / file, old, new)
    problems = provider_schema.check_configuration(infra_copy, schema)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("file, old, expected", [
    ("pubsub.tf", "  topic                      = local.topic_ids_by_name[each.value.topic]\n",
     "google_pubsub_subscription.subscription: required argument topic is not set"),
    ("pubsub.tf", '    ttl = ""\n', "expiration_policy: required argument ttl is not set"),
    ("scheduler.tf", "      service_account_email = google_service_account.scheduler_invoker.email\n",
     "oidc_token: required argument service_account_email is not set"),
])
def test_a_missing_required_argument_is_caught(schema, infra_copy, file, old, expected):
    edit(infra_copy / file, old, "")
    problems = provider_schema.check_configuration(infra_copy, schema)
    assert any(expected in problem for problem in problems), problems


def test_an_argument_written_where_a_block_belongs_is_caught(schema, infra_copy):
    edit(infra_copy / "pubsub.tf", '  expiration_policy {\n    ttl = ""\n  }', '  expiration_policy = { ttl = "" }')
    problems = provider_schema.check_configuration(infra_copy, schema)
    assert any("expiration_policy is a block" in problem for problem in problems), problems


def test_command_line_exit_codes(schema, infra_copy, capsys):
    assert provider_schema.main(["--offline", "--check", str(infra_copy)]) == 0
    edit(infra_copy / "pubsub.tf", "minimum_backoff =", "minimum_backof =")
    assert provider_schema.main(["--offline", "--check", str(infra_copy)]) == 1
    assert "minimum_backof" in capsys.readouterr().err
