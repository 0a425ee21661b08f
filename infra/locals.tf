locals {
  # Cloud Functions and service account ids allow dashes, not underscores.
  function_ids = { for name, _ in var.functions : name => replace(name, "_", "-") }

  function_source_bucket = coalesce(var.function_source_bucket, "${var.project_id}-sportsflow-functions")
  evidence_bucket        = coalesce(var.evidence_bucket, "${var.project_id}-sportsflow-evidence")
  raw_bucket             = coalesce(var.raw_bucket, "${var.project_id}-sportsflow-raw")

  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  push_subscriptions     = { for name, sub in var.subscriptions : name => sub if sub.push_function != null }
  pull_subscriptions     = { for name, sub in var.subscriptions : name => sub if sub.push_function == null }
  dead_lettered          = { for name, sub in var.subscriptions : name => sub if sub.dead_letter_topic != null }
  push_invoked_functions = toset([for sub in values(local.push_subscriptions) : sub.push_function])
  scheduled_functions    = toset([for job in values(var.scheduler_jobs) : job.target_function])

  function_urls = { for name, fn in google_cloudfunctions2_function.function : name => fn.service_config[0].uri }
  # The audience of every OIDC token sent to a function, and the one the function itself checks
  # (shared/runtime/auth.py). Deterministic, so a function's own settings can name it (its
  # run.app URL is only known after it exists).
  function_audiences = { for name, id in local.function_ids : name => "https://${var.region}-${var.project_id}.cloudfunctions.net/${id}" }
  http_functions     = toset([for name, fn in var.functions : name if fn.trigger == "http"])
  api_functions      = toset([for name, fn in var.functions : name if fn.api])
}
