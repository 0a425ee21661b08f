# Cloud Scheduler jobs: the hourly/daily scrapes and the Phase 5 backup runs (SPEC §1).

locals {
  # Cloud Scheduler sends a body only with POST; GET jobs carry their body fields as query parameters.
  scheduler_queries = {
    for name, job in var.scheduler_jobs : name => join("&", [
      for key, value in jsondecode(job.body) : "${urlencode(key)}=${urlencode(tostring(value))}"
    ])
  }
}

resource "google_cloud_scheduler_job" "job" {
  for_each = var.scheduler_jobs

  name             = each.key
  region           = var.region
  description      = each.value.description
  schedule         = each.value.schedule
  time_zone        = each.value.time_zone
  attempt_deadline = "${min(var.functions[each.value.target_function].timeout_seconds, 1800)}s"

  retry_config {
    retry_count          = var.scheduler_retry.retry_count
    min_backoff_duration = var.scheduler_retry.min_backoff_duration
    max_backoff_duration = var.scheduler_retry.max_backoff_duration
    max_doublings        = var.scheduler_retry.max_doublings
  }

  http_target {
    http_method = each.value.http_method
    uri = join("", [
      local.function_urls[each.value.target_function],
      each.value.http_path,
      each.value.http_method == "GET" && local.scheduler_queries[each.key] != "" ? "?${local.scheduler_queries[each.key]}" : "",
    ])
    body    = each.value.http_method == "POST" ? base64encode(each.value.body) : null
    headers = each.value.http_method == "POST" ? { "Content-Type" = "application/json" } : null

    oidc_token {
      service_account_email = google_service_account.scheduler_invoker.email
      audience              = local.function_audiences[each.value.target_function]
    }
  }

  depends_on = [google_project_service.enabled]
}
