"""infra/ provisions exactly the topology, and provisions it safely.

Terraform cannot be initialised here (no provider download), so the .tf files are parsed
with python-hcl2 and checked structurally; `terraform fmt -check` runs when the binary exists.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import hcl2
import pytest
from hcl2 import SerializationOptions

from shared.topology import TOPOLOGY, render

INFRA = Path(__file__).resolve().parents[2] / "infra"
TFVARS = INFRA / "topology.auto.tfvars.json"
REGENERATE = "sportsflow topology -f tfvars > infra/topology.auto.tfvars.json"
_PLAIN = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


@cache
def parsed() -> dict[str, dict]:
    return {path.name: hcl2.load(path.open(), serialization_options=_PLAIN) for path in sorted(INFRA.glob("*.tf"))}


def blocks(kind: str) -> list[dict]:
    return [block for document in parsed().values() for block in document.get(kind, [])]


def resources(resource_type: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for block in blocks("resource"):
        found.update(block.get(resource_type, {}))
    return found


def resource(resource_type: str, name: str) -> dict:
    found = resources(resource_type)
    assert name in found, f"infra/ declares no {resource_type}.{name}"
    return found[name]


def variable(name: str) -> dict:
    for block in blocks("variable"):
        if name in block:
            return block[name]
    raise AssertionError(f"infra/ declares no variable {name!r}")


def dynamic_block(body: dict, name: str) -> dict:
    for block in body.get("dynamic", []):
        if name in block:
            return block[name]
    raise AssertionError(f"no dynamic {name!r} block")


def tf_sources() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(INFRA.glob("*.tf"))}


# --- the generated variables file ------------------------------------------------------
def test_tfvars_file_is_the_rendered_topology():
    committed = json.loads(TFVARS.read_text())
    assert committed == render.as_terraform_variables(TOPOLOGY), (
        f"infra/topology.auto.tfvars.json is out of date with shared/topology: run `{REGENERATE}`")


@pytest.mark.parametrize("name", sorted(render.as_terraform_variables(TOPOLOGY)))
def test_each_topology_variable_declares_every_rendered_attribute(name):
    declared_type = variable(name)["type"]
    rendered_attributes = {key for entry in render.as_terraform_variables(TOPOLOGY)[name].values() for key in entry}
    declared_attributes = set(re.findall(r"(\w+)\s*=", declared_type))
    assert declared_attributes == rendered_attributes, f"variable {name} type does not match the renderer"


# --- the topology is the single source ---------------------------------------------------
@pytest.mark.parametrize("resource_type, name, variable_name", [
    ("google_pubsub_topic", "topic", "topics"),
    ("google_pubsub_topic", "dead_letter", "topics"),
    ("google_pubsub_subscription", "subscription", "subscriptions"),
    ("google_cloudfunctions2_function", "function", "functions"),
    ("google_service_account", "function", "functions"),
    ("google_cloud_scheduler_job", "job", "scheduler_jobs"),
])
def test_topology_resources_iterate_their_variable(resource_type, name, variable_name):
    assert resource(resource_type, name)["for_each"] == f"${{var.{variable_name}}}"


@pytest.mark.parametrize("resource_type", [
    "google_pubsub_topic", "google_pubsub_subscription", "google_cloudfunctions2_function",
    "google_cloud_scheduler_job",
])
def test_no_topology_resource_is_declared_one_by_one(resource_type):
    singles = [name for name, body in resources(resource_type).items() if "for_each" not in body]
    assert not singles, f"{resource_type} {singles} must come from the topology variables"


def topology_names() -> set[str]:
    names = {t.name for t in TOPOLOGY.topics} | {t.dead_letter_topic for t in TOPOLOGY.topics}
    names |= {s.name for s in TOPOLOGY.subscriptions} | {j.name for j in TOPOLOGY.scheduler_jobs}
    names |= {f.name for f in TOPOLOGY.functions} | {f.name.replace("_", "-") for f in TOPOLOGY.functions}
    return names


@pytest.mark.parametrize("filename", sorted(tf_sources()))
def test_no_topology_name_is_written_in_terraform(filename):
    text = tf_sources()[filename]
    written = sorted(n for n in topology_names() if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text))
    assert not written, f"{filename} names {written}: take them from the topology variables instead"


# --- Pub/Sub ---------------------------------------------------------------------------
def test_subscriptions_carry_retry_ack_ordering_and_retention_from_the_topology():
    body = resource("google_pubsub_subscription", "subscription")
    assert body["retry_policy"] == [{"minimum_backoff": "${each.value.min_backoff}",
                                     "maximum_backoff": "${each.value.max_backoff}"}]
    assert body["ack_deadline_seconds"] == "${each.value.ack_deadline_seconds}"
    assert body["enable_message_ordering"] == "${each.value.enable_message_ordering}"
    assert "message_retention_duration" in body
    assert body["expiration_policy"] == [{"ttl": ""}], "subscriptions must never expire for inactivity"


def test_subscriptions_dead_letter_after_the_topology_attempts():
    dead_letter = dynamic_block(resource("google_pubsub_subscription", "subscription"), "dead_letter_policy")
    assert "each.value.dead_letter_topic" in dead_letter["for_each"]
    content = dead_letter["content"][0]
    assert content["max_delivery_attempts"] == "${dead_letter_policy.value.max_delivery_attempts}"
    assert "dead_letter_policy.value.dead_letter_topic" in content["dead_letter_topic"]


def test_push_subscriptions_push_to_the_function_url_with_an_oidc_token():
    push = dynamic_block(resource("google_pubsub_subscription", "subscription"), "push_config")
    assert "each.value.push_function" in push["for_each"]
    content = push["content"][0]
    assert "push_config.value.push_path" in content["push_endpoint"]
    assert "local.function_urls[push_config.value.push_function]" in content["push_endpoint"]
    token = content["oidc_token"][0]
    assert token["service_account_email"] == "${google_service_account.push_invoker.email}"
    assert token["audience"] == "${local.function_audiences[push_config.value.push_function]}"


def test_pubsub_service_agent_can_forward_dead_letters():
    agent = "".join(block.get("pubsub_service_agent", "") for block in blocks("locals"))
    assert "@gcp-sa-pubsub.iam.gserviceaccount.com" in agent
    publish = resource("google_pubsub_topic_iam_member", "service_agent_publishes_dead_letters")
    assert publish["for_each"] == "${google_pubsub_topic.dead_letter}"
    assert (publish["role"], publish["member"]) == ("roles/pubsub.publisher", "${local.pubsub_service_agent}")
    forward = resource("google_pubsub_subscription_iam_member", "service_agent_forwards_dead_letters")
    assert (forward["role"], forward["member"]) == ("roles/pubsub.subscriber", "${local.pubsub_service_agent}")


# --- functions and who may call them ---------------------------------------------------
def test_functions_run_the_shared_runtime_on_gcp_as_their_own_identity():
    body = resource("google_cloudfunctions2_function", "function")
    build, service = body["build_config"][0], body["service_config"][0]
    assert (build["runtime"], build["entry_point"]) == ("python311", "handle")
    assert build["source"][0]["storage_source"][0]["object"] == "${lookup(var.function_source_objects, each.key, null)}"
    assert service["environment_variables"]["SPORTSFLOW_BACKEND"] == "gcp"
    assert {"GOOGLE_CLOUD_PROJECT", "SPORTSFLOW_EVIDENCE_BUCKET", "SPORTSFLOW_RAW_BUCKET"} <= set(
        service["environment_variables"])
    assert service["service_account_email"] == "${google_service_account.function[each.key].email}"
    for setting, attribute in [("timeout_seconds", "timeout_seconds"), ("max_instance_count", "max_instances"),
                               ("max_instance_request_concurrency", "concurrency")]:
        assert service[setting] == f"${{each.value.{attribute}}}"
    assert service["ingress_settings"] == "${var.function_ingress}"


def test_functions_are_never_open_to_the_internet():
    ingress = variable("function_ingress")
    assert ingress["default"] == "ALLOW_INTERNAL_ONLY"
    assert "ALLOW_ALL" not in json.dumps(ingress["validation"])
    for filename, text in tf_sources().items():
        assert "allUsers" not in text and "allAuthenticatedUsers" not in text, filename


def test_functions_are_invoked_only_by_their_push_subscription_scheduler_or_named_api_clients():
    push = resource("google_cloud_run_v2_service_iam_member", "push_invoker")
    scheduler = resource("google_cloud_run_v2_service_iam_member", "scheduler_invoker")
    assert (push["for_each"], push["member"]) == ("${local.push_invoked_functions}",
                                                  "${google_service_account.push_invoker.member}")
    assert (scheduler["for_each"], scheduler["member"]) == ("${local.scheduled_functions}",
                                                            "${google_service_account.scheduler_invoker.member}")
    assert push["role"] == scheduler["role"] == "roles/run.invoker"
    api = resource("google_cloud_run_v2_service_iam_member", "api_invoker")
    assert "setproduct(tolist(local.api_functions), var.api_invokers)" in api["for_each"]
    assert "setproduct(tolist(local.http_functions), var.admin_principals)" in api["for_each"]
    assert variable("api_invokers")["default"] == [] and variable("admin_principals")["default"] == []


def test_functions_publish_only_to_their_topics():
    grant = resource("google_pubsub_topic_iam_member", "function_publisher")
    assert grant["for_each"] == "${local.function_publishes}"
    assert grant["member"] == "${google_service_account.function[each.value.function].member}"
    project_roles = resources("google_project_iam_member")["function"]
    assert "roles/pubsub.publisher" not in json.dumps(project_roles), "publishing must be granted per topic"


def test_scheduler_jobs_call_the_function_with_an_oidc_token_and_retry():
    body = resource("google_cloud_scheduler_job", "job")
    target = body["http_target"][0]
    assert target["oidc_token"][0]["service_account_email"] == "${google_service_account.scheduler_invoker.email}"
    assert "local.function_urls[each.value.target_function]" in target["uri"]
    assert "base64encode(each.value.body)" in target["body"]
    assert body["time_zone"] == "${each.value.time_zone}"
    assert set(body["retry_config"][0]) >= {"retry_count", "min_backoff_duration", "max_backoff_duration"}


# --- storage and data ------------------------------------------------------------------
def test_evidence_bucket_is_write_once():
    bucket = resource("google_storage_bucket", "evidence")
    assert bucket["retention_policy"][0]["is_locked"] is True
    assert "var.evidence_retention_days" in bucket["retention_policy"][0]["retention_period"]
    assert bucket["enable_object_retention"] is True
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["lifecycle"][0]["prevent_destroy"] is True
    assert variable("evidence_retention_days")["default"] == 2555


def test_no_bucket_combines_versioning_with_a_retention_policy():
    """Cloud Storage rejects Object Versioning on a bucket with a retention policy."""
    both = [name for name, bucket in resources("google_storage_bucket").items()
            if "retention_policy" in bucket and bucket.get("versioning", [{}])[0].get("enabled")]
    assert not both


def test_every_bucket_is_private_with_uniform_access():
    for name, bucket in resources("google_storage_bucket").items():
        assert bucket["public_access_prevention"] == "enforced", name
        assert bucket["uniform_bucket_level_access"] is True, name


def test_warehouse_datasets_and_partitioned_tables():
    assert variable("bigquery_datasets")["default"] == [
        "nba_raw", "nba_analytics", "nba_precompute", "nba_predictions", "ops"]
    table = resource("google_bigquery_table", "table")
    assert table["for_each"] == "${var.bigquery_tables}"
    assert table["time_partitioning"] == [{"type": "DAY", "field": "${each.value.partition_field}"}]
    assert table["require_partition_filter"] is True


def test_firestore_is_a_native_database():
    assert resource("google_firestore_database", "default")["type"] == "FIRESTORE_NATIVE"


# --- alerts ----------------------------------------------------------------------------
def test_alerts_cover_dead_letters_backlog_errors_and_the_spec_rules():
    policies = resources("google_monitoring_alert_policy")
    assert {"dead_letters", "push_backlog", "function_errors", "log_event", "log_ratio"} <= set(policies)
    assert "local.pull_subscription_ids" in policies["dead_letters"]["conditions"][0]["condition_threshold"][0]["filter"]
    assert {"validation finished", "evidence integrity failure", "live match stale"} <= set(alerted_log_messages())


def alerted_log_messages() -> list[str]:
    return re.findall(r'jsonPayload\.message=\\"([^"\\]+)\\"', tf_sources()["monitoring.tf"])


def test_alert_log_messages_are_documented_for_the_code_that_emits_them():
    readme = (INFRA / "README.md").read_text()
    for message in alerted_log_messages():
        assert f"`{message}`" in readme, f"infra/README.md must document the log message {message!r}"


def test_terraform_fmt_is_clean():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform binary not installed")
    result = subprocess.run([terraform, "fmt", "-check", "-recursive", str(INFRA)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"run `terraform fmt -recursive infra`:\n{result.stdout}"


# --- the deploy pipeline ---------------------------------------------------------------
def cloudbuild_steps() -> dict[str, dict]:
    yaml = pytest.importorskip("yaml")
    build = yaml.safe_load((INFRA.parent / "cloudbuild.yaml").read_text())
    return {step["id"]: step for step in build["steps"]}


def step_command(step: dict) -> str:
    return " ".join([step.get("entrypoint", ""), *map(str, step.get("args", []))])


def test_cloudbuild_images_are_pinned_by_tag():
    for step_id, step in cloudbuild_steps().items():
        image = step["name"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest" and any(ch.isdigit() for ch in tag), f"{step_id}: pin {image} to a version"


def test_cloudbuild_tests_package_upload_then_plans_with_the_source_map():
    steps = cloudbuild_steps()
    commands = {step_id: step_command(step) for step_id, step in steps.items()}
    assert "pip install --quiet -e '.[test]'" in commands["unit-tests"]
    assert 'pytest -m "not emulator"' in commands["unit-tests"]
    assert "fmt -check -recursive infra" in commands["terraform-fmt"]
    assert "scripts/package_functions.py --out dist/" in commands["package-functions"]
    assert "gcloud storage cp" in commands["upload-sources"] and "dist/*.zip" in commands["upload-sources"]
    assert "-var-file=../dist/function_sources.tfvars.json" in commands["terraform-plan"]
    assert commands["terraform-apply"].strip() == "apply -input=false tfplan"


def test_cloudbuild_deploys_only_after_the_tests_pass():
    steps = cloudbuild_steps()

    def upstream(step_id: str) -> set[str]:
        found: set[str] = set()
        for parent in steps[step_id].get("waitFor", []):
            if parent != "-":
                found |= {parent} | upstream(parent)
        return found

    for deploying in ["source-bucket", "upload-sources", "terraform-plan", "terraform-apply"]:
        assert {"unit-tests", "terraform-fmt"} <= upstream(deploying), deploying
    assert {"package-functions", "upload-sources"} <= upstream("terraform-apply")


def test_every_pipeline_table_is_provisioned_in_a_provisioned_dataset():
    tables = render.as_terraform_variables(TOPOLOGY)["bigquery_tables"]
    datasets = set(variable("bigquery_datasets")["default"])
    assert {"nba_raw.player_boxscores", "nba_precompute.ml_feature_store_v2", "ops.processor_run_history"} <= set(tables)
    assert {table["dataset"] for table in tables.values()} <= datasets
    for table in tables.values():
        schema = json.loads(table["schema"])
        assert table["partition_field"] in {field["name"] for field in schema}
    assert resource("google_bigquery_table", "table")["for_each"] == "${var.bigquery_tables}"


def test_every_oidc_token_is_minted_for_the_audience_the_function_checks():
    """Push subscriptions and scheduler jobs send tokens for local.function_audiences; each function
    verifies exactly that audience and an allowed caller in depth (shared/runtime/auth.py)."""
    push = dynamic_block(resource("google_pubsub_subscription", "subscription"), "push_config")["content"][0]
    assert push["oidc_token"][0]["audience"] == "${local.function_audiences[push_config.value.push_function]}"
    job = resource("google_cloud_scheduler_job", "job")
    audience = job["http_target"][0]["oidc_token"][0]["audience"]
    assert audience == "${local.function_audiences[each.value.target_function]}"
    environment = resource("google_cloudfunctions2_function", "function")["service_config"][0]["environment_variables"]
    assert environment["SPORTSFLOW_AUTH_AUDIENCES"] == "${local.function_audiences[each.key]}"
    invokers = environment["SPORTSFLOW_ALLOWED_INVOKERS"]
    assert "google_service_account.push_invoker.email" in invokers
    assert "google_service_account.scheduler_invoker.email" in invokers
    assert "each.value.api ? var.api_invokers : []" in invokers  # API clients only on client-facing APIs
