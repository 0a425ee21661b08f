"""infra/ provisions exactly the topology, and provisions it safely.

Terraform cannot be initialised here (no provider download), so the .tf files are parsed
with python-hcl2 and checked structurally; `terraform fmt -check` runs when the binary exists.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
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
def test_subscriptions_keep_messages_and_never_expire():
    """Settings the topology does not carry (the drift check below covers the ones it does)."""
    body = resource("google_pubsub_subscription", "subscription")
    assert "message_retention_duration" in body
    assert body["expiration_policy"] == [{"ttl": ""}], "subscriptions must never expire for inactivity"


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
    dead_letters = policies["dead_letters"]["conditions"][0]["condition_threshold"][0]
    assert "local.pull_subscription_ids" in dead_letters["filter"]
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


def test_every_pipeline_table_is_provisioned_in_a_provisioned_dataset():
    tables = render.as_terraform_variables(TOPOLOGY)["bigquery_tables"]
    datasets = set(variable("bigquery_datasets")["default"])
    assert {"nba_raw.player_boxscores", "nba_precompute.ml_feature_store_v2",
            "ops.processor_run_history"} <= set(tables)
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


# --- drift: what Terraform would create, instance by instance (scripts/terraform_drift.py) ---
def _load_drift_script():
    spec = importlib.util.spec_from_file_location("terraform_drift", INFRA.parent / "scripts" / "terraform_drift.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


terraform_drift = _load_drift_script()
FUNCTIONS = INFRA.parent / "functions"


@pytest.fixture
def infra_copy(tmp_path) -> Path:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return copy


def edit_tfvars(infra: Path, change) -> None:
    values = json.loads((infra / "topology.auto.tfvars.json").read_text())
    change(values)
    (infra / "topology.auto.tfvars.json").write_text(json.dumps(values))


def edit_tf(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new))


def test_infra_creates_exactly_the_topology_with_its_settings():
    problems = terraform_drift.drift(INFRA, FUNCTIONS)
    assert not problems, "infra/ drifted from the topology:\n" + "\n".join(problems)


def test_the_drift_check_sees_every_kind_of_instance():
    configuration = terraform_drift.Configuration(INFRA)
    counts = {kind: len(configuration.instances(*kind)) for kind in [
        ("google_pubsub_topic", "topic"), ("google_pubsub_subscription", "subscription"),
        ("google_cloudfunctions2_function", "function"), ("google_cloud_scheduler_job", "job"),
        ("google_bigquery_dataset", "dataset"), ("google_bigquery_table", "table")]}
    assert counts[("google_pubsub_subscription", "subscription")] == len(TOPOLOGY.subscriptions)
    assert counts[("google_cloudfunctions2_function", "function")] == len(TOPOLOGY.functions)
    assert all(counts.values()), counts


def test_a_removed_subscription_is_drift(infra_copy):
    edit_tfvars(infra_copy, lambda values: values["subscriptions"].pop("game-final--outcome-validation"))
    assert terraform_drift.drift(infra_copy, FUNCTIONS) == [
        "subscription game-final--outcome-validation: in the topology, not deployed by infra/"]


def test_a_subscription_the_topology_does_not_name_is_drift(infra_copy):
    edit_tfvars(infra_copy, lambda values: values["subscriptions"].__setitem__(
        "game-final--extra", values["subscriptions"]["game-final--outcome-validation"]))
    assert "subscription game-final--extra: deployed by infra/, not in the topology" in terraform_drift.drift(
        infra_copy, FUNCTIONS)


def test_a_changed_schedule_is_drift(infra_copy):
    edit_tfvars(infra_copy, lambda values: values["scheduler_jobs"]["phase1-daily-scrape"].update(schedule="0 5 * * *"))
    assert terraform_drift.drift(infra_copy, FUNCTIONS) == [
        "scheduler job phase1-daily-scrape: schedule is '0 5 * * *' in infra/, the topology says '0 4 * * *'"]


def test_a_schedule_written_into_terraform_is_drift(infra_copy):
    edit_tf(infra_copy / "scheduler.tf", "schedule         = each.value.schedule", 'schedule         = "0 5 * * *"')
    problems = terraform_drift.drift(infra_copy, FUNCTIONS)
    assert len(problems) == sum(job.schedule != "0 5 * * *" for job in TOPOLOGY.scheduler_jobs)
    assert all("schedule is '0 5 * * *' in infra/" in problem for problem in problems)


@pytest.mark.parametrize("file, old, new, expected", [
    ("pubsub.tf", "max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts",
     "max_delivery_attempts = 5",
     "subscription settlement-jobs--settlement-worker: max delivery attempts is 5 in infra/, the topology says 10"),
    ("pubsub.tf", "audience              = local.function_audiences[push_config.value.push_function]",
     "audience              = local.function_audiences[each.key]", "push OIDC audience is"),
    ("functions.tf", 'available_memory                 = "${each.value.memory_mb}M"',
     'available_memory                 = "${each.value.memory_mb}Mi"',
     "function live_read_api: memory is '512Mi' in infra/, the topology says '512M'"),
    ("functions.tf", 'entry_point     = "handle"', 'entry_point     = "main"',
     "function reconciler: entry point is 'main' in infra/, the topology says 'handle'"),
    ("scheduler.tf", "time_zone        = each.value.time_zone", 'time_zone        = "Etc/UTC"',
     "scheduler job phase1-daily-scrape: time zone is 'Etc/UTC' in infra/"),
    ("bigquery.tf", 'type  = "DAY"', 'type  = "HOUR"', "table ops.processor_run_history: partitioning is ('HOUR',"),
])
def test_a_changed_setting_is_drift(infra_copy, file, old, new, expected):
    edit_tf(infra_copy / file, old, new)
    problems = terraform_drift.drift(infra_copy, FUNCTIONS)
    assert any(expected in problem for problem in problems), problems


def test_a_changed_table_schema_is_drift(infra_copy):
    def drop_a_column(values):
        table = values["bigquery_tables"]["ops.processor_run_history"]
        table["schema"] = json.dumps(json.loads(table["schema"])[:-1])
    edit_tfvars(infra_copy, drop_a_column)
    assert [p.split(":")[0] for p in terraform_drift.drift(infra_copy, FUNCTIONS)] == [
        "table ops.processor_run_history"]


def test_only_functions_that_exist_are_deployed(infra_copy, tmp_path):
    functions = tmp_path / "functions"
    shutil.copytree(FUNCTIONS, functions)
    shutil.rmtree(functions / "predictions_api")
    problems = terraform_drift.drift(infra_copy, functions)
    assert "function predictions_api: deployed, but functions/predictions_api/main.py does not exist " \
           "(packaging cannot build it)" in problems


def test_a_main_py_of_the_wrong_kind_is_drift(infra_copy, tmp_path):
    functions = tmp_path / "functions"
    shutil.copytree(FUNCTIONS, functions)
    (functions / "reconciler" / "main.py").write_text(
        'from shared.runtime.entrypoints import pubsub_entry_point\n\nhandle = pubsub_entry_point("reconciler")\n')
    assert terraform_drift.drift(infra_copy, functions) == [
        'function reconciler: functions/reconciler/main.py must be `handle = http_entry_point("reconciler")` '
        '(trigger: http)']


def test_an_expression_the_check_cannot_evaluate_fails_closed(infra_copy):
    edit_tf(infra_copy / "scheduler.tf", "schedule         = each.value.schedule",
            "schedule         = lower(each.value.schedule)")
    problems = terraform_drift.drift(infra_copy, FUNCTIONS)
    assert problems and "cannot evaluate" in problems[0]
