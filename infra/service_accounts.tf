# Least-privilege identities: one per function, plus the two callers (Pub/Sub push,
# Cloud Scheduler) and the identity that builds function images.

resource "google_service_account" "function" {
  for_each = var.functions

  account_id   = local.function_ids[each.key]
  display_name = "sportsflow function ${each.key}"
  description  = each.value.description
}

resource "google_service_account" "push_invoker" {
  account_id   = "sf-pubsub-push"
  display_name = "sportsflow Pub/Sub push invoker"
  description  = "Identity in the OIDC token of every push subscription; may only invoke the pushed functions."
}

resource "google_service_account" "scheduler_invoker" {
  account_id   = "sf-scheduler"
  display_name = "sportsflow Cloud Scheduler invoker"
  description  = "Identity in the OIDC token of every scheduler job; may only invoke the scheduled functions."
}

resource "google_service_account" "function_builder" {
  account_id   = "sf-function-builder"
  display_name = "sportsflow function builder"
  description  = "Builds function images from the source zips."
}

# Pub/Sub mints the push OIDC tokens as the push invoker.
resource "google_service_account_iam_member" "pubsub_mints_push_tokens" {
  service_account_id = google_service_account.push_invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# The minimum a Cloud Functions build needs: write logs and images, read the source zips.
resource "google_project_iam_member" "function_builder" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])

  project = var.project_id
  role    = each.value
  member  = google_service_account.function_builder.member
}

resource "google_storage_bucket_iam_member" "function_builder_reads_sources" {
  bucket = google_storage_bucket.function_source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.function_builder.member
}
