# What each function's own service account may do, and nothing more.

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

  function_project_roles = ["roles/datastore.user", "roles/bigquery.jobUser"]
  function_bucket_roles = {
    evidence_creator = { bucket = google_storage_bucket.evidence.name, role = "roles/storage.objectCreator" }
    evidence_viewer  = { bucket = google_storage_bucket.evidence.name, role = "roles/storage.objectViewer" }
    evidence_retain  = { bucket = google_storage_bucket.evidence.name, role = google_project_iam_custom_role.evidence_retention_setter.id }
    raw_creator      = { bucket = google_storage_bucket.raw.name, role = "roles/storage.objectCreator" }
    raw_viewer       = { bucket = google_storage_bucket.raw.name, role = "roles/storage.objectViewer" }
  }
}

resource "google_pubsub_topic_iam_member" "function_publisher" {
  for_each = local.function_publishes

  topic  = local.topic_ids_by_name[each.value.topic]
  role   = "roles/pubsub.publisher"
  member = google_service_account.function[each.value.function].member
}

resource "google_project_iam_member" "function" {
  for_each = {
    for pair in setproduct(keys(var.functions), local.function_project_roles) :
    "${pair[0]}/${pair[1]}" => { function = pair[0], role = pair[1] }
  }

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.function[each.value.function].member
}

resource "google_bigquery_dataset_iam_member" "function_data_editor" {
  for_each = {
    for pair in setproduct(keys(var.functions), var.bigquery_datasets) :
    "${pair[0]}/${pair[1]}" => { function = pair[0], dataset = pair[1] }
  }

  dataset_id = google_bigquery_dataset.dataset[each.value.dataset].dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.function[each.value.function].member
}

resource "google_storage_bucket_iam_member" "function" {
  for_each = {
    for pair in setproduct(keys(var.functions), keys(local.function_bucket_roles)) :
    "${pair[0]}/${pair[1]}" => merge(local.function_bucket_roles[pair[1]], { function = pair[0] })
  }

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
