# What each function's own service account may do, and nothing more: exactly the grants its
# topology entry declares (`publishes`, `access`; shared/topology/grants.py renders the same
# table). Resource-level wherever the resource has IAM; project-level only for Firestore (no
# resource-level IAM) and BigQuery jobs (jobs belong to the project).

locals {
  # A function publishes what the topology says, plus dead letters for the topics pushed to it.
  dead_letter_topics_received = flatten([
    for sub in values(local.push_subscriptions) : {
      function = sub.push_function
      topic    = sub.dead_letter_topic
    } if sub.dead_letter_topic != null
  ])
  published_topics = flatten([
    for name, fn in var.functions : [for topic in fn.publishes : { function = name, topic = topic }]
  ])
  function_publishes = {
    for grant in concat(local.published_topics, local.dead_letter_topics_received) :
    "${grant.function}/${grant.topic}" => grant
  }

  function_access = flatten([
    for name, fn in var.functions : [for token in fn.access : { function = name, token = token }]
  ])

  function_project_roles = merge(
    {
      for name, fn in var.functions : "${name}/roles/datastore.user" => { function = name, role = "roles/datastore.user" }
      if contains(fn.access, "documents")
    },
    {
      for name, fn in var.functions : "${name}/roles/bigquery.jobUser" => { function = name, role = "roles/bigquery.jobUser" }
      if length([for token in fn.access : token if startswith(token, "bigquery:")]) > 0
    },
  )

  function_dataset_roles = {
    for grant in local.function_access : "${grant.function}/${grant.token}" => {
      function = grant.function
      dataset  = split(":", grant.token)[2]
      role     = split(":", grant.token)[1] == "write" ? "roles/bigquery.dataEditor" : "roles/bigquery.dataViewer"
    } if startswith(grant.token, "bigquery:")
  }

  bucket_access_roles = {
    "evidence:read" = [
      { bucket = google_storage_bucket.evidence.name, role = "roles/storage.objectViewer" },
    ]
    "evidence:write" = [
      { bucket = google_storage_bucket.evidence.name, role = "roles/storage.objectCreator" },
      { bucket = google_storage_bucket.evidence.name, role = google_project_iam_custom_role.evidence_retention_setter.id },
    ]
    "raw:read" = [
      { bucket = google_storage_bucket.raw.name, role = "roles/storage.objectViewer" },
    ]
    "raw:write" = [
      { bucket = google_storage_bucket.raw.name, role = "roles/storage.objectCreator" },
    ]
  }
  function_bucket_roles = merge([
    for grant in local.function_access : {
      for index, role in local.bucket_access_roles[grant.token] :
      "${grant.function}/${grant.token}/${index}" => merge(role, { function = grant.function })
    } if contains(keys(local.bucket_access_roles), grant.token)
  ]...)
}

resource "google_pubsub_topic_iam_member" "function_publisher" {
  for_each = local.function_publishes

  topic  = local.topic_ids_by_name[each.value.topic]
  role   = "roles/pubsub.publisher"
  member = google_service_account.function[each.value.function].member
}

resource "google_project_iam_member" "function" {
  for_each = local.function_project_roles

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.function[each.value.function].member
}

resource "google_bigquery_dataset_iam_member" "function" {
  for_each = local.function_dataset_roles

  dataset_id = google_bigquery_dataset.dataset[each.value.dataset].dataset_id
  role       = each.value.role
  member     = google_service_account.function[each.value.function].member
}

resource "google_storage_bucket_iam_member" "function" {
  for_each = local.function_bucket_roles

  bucket = each.value.bucket
  role   = each.value.role
  member = google_service_account.function[each.value.function].member
}

# Evidence is uploaded with a Locked object retention in the same request, which needs
# setRetention on top of create. Deliberately no delete, no update (legal holds are an
# operator action).
resource "google_project_iam_custom_role" "evidence_retention_setter" {
  role_id     = "sportsflowEvidenceRetentionSetter"
  title       = "sportsflow evidence retention setter"
  description = "Set a retention configuration on evidence objects at upload."
  permissions = ["storage.objects.setRetention"]
}
