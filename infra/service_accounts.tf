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

# --- Cloud Build: separate identities for testing and deploying ---------------------------
# The test build installs packages and runs the test suite: code we did not write runs there,
# so it holds nothing but log writing. The deploy build runs Terraform only (no test suite, the
# function dependencies installed from the hash-pinned lock), as the deployer, which holds the
# roles Terraform needs to manage what infra/ declares — and may grant at project level only
# the roles infra/ grants there (an IAM condition), never itself more. Both identities are
# created by the first, operator-run apply (bootstrap); builds then name them as serviceAccount.

resource "google_service_account" "ci_tester" {
  account_id   = "sf-ci-tester"
  display_name = "sportsflow CI tests"
  description  = "Runs the test build (pip install, pytest, terraform fmt): writes build logs, nothing else."
}

resource "google_project_iam_member" "ci_tester" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.ci_tester.member
}

resource "google_service_account" "deployer" {
  account_id   = "sf-deployer"
  display_name = "sportsflow deployer"
  description  = "Runs the deploy build (terraform apply of infra/): the roles Terraform needs, nothing else."
}

locals {
  # What infra/ creates and configures, one role per kind of resource.
  deployer_roles = toset([
    "roles/logging.logWriter",               # its own build logs
    "roles/cloudfunctions.developer",        # google_cloudfunctions2_function
    "roles/run.admin",                       # run.invoker grants on the functions' services
    "roles/iam.serviceAccountAdmin",         # the identities in this file, token-creator grants
    "roles/iam.roleAdmin",                   # the evidence retention-setter custom role
    "roles/pubsub.admin",                    # topics, subscriptions and their IAM
    "roles/cloudscheduler.admin",            # scheduler jobs
    "roles/storage.admin",                   # buckets, their IAM, the Terraform state
    "roles/bigquery.dataOwner",              # datasets, tables and dataset IAM
    "roles/datastore.owner",                 # the Firestore database and indexes
    "roles/monitoring.editor",               # alert policies, notification channels
    "roles/logging.configWriter",            # log-based metrics
    "roles/serviceusage.serviceUsageAdmin",  # google_project_service
    "roles/storagetransfer.admin",           # the evidence replica transfer job
    "roles/artifactregistry.reader",         # read the function images it deploys
    "roles/resourcemanager.projectIamAdmin", # conditioned below: only the roles infra/ grants
  ])
  # The project roles infra/ grants to the functions, the builder and the test identity: the
  # only ones the deployer may grant. Its own roles above are therefore changed by an operator's
  # apply only (unchanged, they cost the deploy build no IAM write).
  project_roles_granted = toset(["roles/datastore.user", "roles/bigquery.jobUser", "roles/logging.logWriter",
  "roles/artifactregistry.writer"])
}

resource "google_project_iam_member" "deployer" {
  #checkov:skip=CKV_GCP_49:serviceAccountAdmin creates the identities of this file; creating a service account has no resource-level grant (its parent is the project). Acting as them is granted per account below, never project-wide
  for_each = local.deployer_roles

  project = var.project_id
  role    = each.value
  member  = google_service_account.deployer.member

  dynamic "condition" {
    for_each = each.value == "roles/resourcemanager.projectIamAdmin" ? [1] : []
    content {
      title       = "only-roles-infra-grants"
      description = "The deployer may grant or revoke at project level only the roles infra/ grants."
      expression  = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${join(", ", [for role in sort(tolist(local.project_roles_granted)) : "'${role}'"])}])"
    }
  }
}

# The deployer acts as exactly the identities that what it deploys runs as (functions, push and
# scheduler tokens, the snapshot transfers): granted on each account, never project-wide.
locals {
  deployer_acts_as = merge(
    { for name, account in google_service_account.function : "function-${name}" => account.name },
    {
      push_invoker       = google_service_account.push_invoker.name
      scheduler_invoker  = google_service_account.scheduler_invoker.name
      bigquery_snapshots = google_service_account.bigquery_snapshots.name
    },
  )
}

resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = local.deployer_acts_as

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.deployer.member
}
