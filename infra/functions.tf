# One Cloud Function (gen2) per topology function. None is publicly invokable: topic
# functions are called by their push subscription, HTTP functions by Cloud Scheduler,
# both with OIDC tokens (SPEC §5 Security).

resource "google_cloudfunctions2_function" "function" {
  for_each = var.functions

  name        = local.function_ids[each.key]
  location    = var.region
  description = each.value.description
  labels      = { app = "sportsflow" }

  build_config {
    runtime         = "python311"
    entry_point     = "handle"
    service_account = google_service_account.function_builder.id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = lookup(var.function_source_objects, each.key, null) # missing: the precondition below explains
      }
    }
  }

  service_config {
    timeout_seconds                  = each.value.timeout_seconds
    available_memory                 = "${each.value.memory_mb}M"
    available_cpu                    = each.value.concurrency > 1 ? "1" : null
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = each.value.concurrency
    ingress_settings                 = var.function_ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[each.key].email

    environment_variables = {
      SPORTSFLOW_BACKEND         = "gcp"
      SPORTSFLOW_FUNCTION        = each.key
      GOOGLE_CLOUD_PROJECT       = var.project_id
      SPORTSFLOW_EVIDENCE_BUCKET = google_storage_bucket.evidence.name
      SPORTSFLOW_RAW_BUCKET      = google_storage_bucket.raw.name
      # Verified in the function as well as by the platform (shared/runtime/auth.py).
      SPORTSFLOW_AUTH_AUDIENCES   = local.function_audiences[each.key]
      SPORTSFLOW_ALLOWED_INVOKERS = join(",", concat([google_service_account.push_invoker.email, google_service_account.scheduler_invoker.email], each.value.api ? var.api_invokers : [], var.admin_principals))
      SPORTSFLOW_PUSH_INVOKER     = google_service_account.push_invoker.email
      SPORTSFLOW_ADMIN_PRINCIPALS = join(",", var.admin_principals)
      # Ingestion (shared/ingestion): the fixtures provider and how outcomes are announced.
      SPORTSFLOW_FIXTURES_PROVIDER_URL = var.fixtures_provider_url
      SPORTSFLOW_NOTIFIER              = var.notifier == "webhook" ? "webhook:${var.notify_webhook_url}" : var.notifier
      SPORTSFLOW_NOTIFY_WEBHOOK_URL    = var.notify_webhook_url
      SPORTSFLOW_NOTIFY_EMAIL_TO       = var.notify_email_to
      # Providers, validation policy and backfill switches (infra/function_settings.tf).
      SPORTSFLOW_HOME              = "/tmp/sportsflow" # the only writable directory of an instance
      SPORTSFLOW_PROVIDER_URL      = var.provider_url
      SPORTSFLOW_LIVE_PROVIDER_URL = var.live_provider_url
      SPORTSFLOW_RESULT_SOURCES    = var.result_sources
      SPORTSFLOW_SOURCE_WEIGHTS    = var.validation_policy.source_weights
      SPORTSFLOW_MIN_CONFIDENCE    = var.validation_policy.min_confidence
      SPORTSFLOW_PROMOTIONS        = var.validation_policy.promotions
      SPORTSFLOW_LOG_SIGNING_KEY   = var.evidence_log_signing_key_path
      SPORTSFLOW_PHASE3_TRIGGER    = var.pipeline_switches.phase3_trigger
      SPORTSFLOW_PREDICTIONS       = var.pipeline_switches.predictions
    }
  }

  lifecycle {
    precondition {
      condition     = contains(keys(var.function_source_objects), each.key)
      error_message = "No packaged source for function ${each.key}: add functions/${each.key}/main.py and run scripts/package_functions.py (its tfvars go to -var-file)."
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.function_builder,
    google_storage_bucket_iam_member.function_builder_reads_sources,
  ]
}

# --- who may invoke ------------------------------------------------------------------
resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  for_each = local.push_invoked_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.value].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.push_invoker.member
}

# Clients of the client-facing APIs (api = true in the topology) on those functions only, and
# operators (admin principals) on every HTTP function.
resource "google_cloud_run_v2_service_iam_member" "api_invoker" {
  for_each = merge(
    { for pair in setproduct(tolist(local.api_functions), var.api_invokers) : "${pair[0]}|${pair[1]}" => pair },
    { for pair in setproduct(tolist(local.http_functions), var.admin_principals) : "${pair[0]}|${pair[1]}" => pair },
  )

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.value[0]].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${each.value[1]}"
}

resource "google_cloud_run_v2_service_iam_member" "scheduler_invoker" {
  for_each = local.scheduled_functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.value].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler_invoker.member
}
