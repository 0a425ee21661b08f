# Datasets, and every date-partitioned table the pipeline writes (var.bigquery_tables,
# generated from the code's TableSpecs into topology.auto.tfvars.json).

resource "google_bigquery_dataset" "dataset" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption at rest; customer-managed keys would add a KMS key whose loss makes the data unreadable, and SPEC 5 asks for none
  for_each = toset(var.bigquery_datasets)

  dataset_id                 = each.value
  location                   = var.bigquery_location
  delete_contents_on_destroy = false
  max_time_travel_hours      = var.bigquery_time_travel_hours # infra/backups.tf
  labels                     = { app = "sportsflow" }

  depends_on = [google_project_service.enabled]
}

resource "google_bigquery_table" "table" {
  #checkov:skip=CKV_GCP_80:Google-managed encryption at rest; customer-managed keys would add a KMS key whose loss makes the data unreadable, and SPEC 5 asks for none
  for_each = var.bigquery_tables

  dataset_id               = google_bigquery_dataset.dataset[each.value.dataset].dataset_id
  table_id                 = each.value.table
  description              = each.value.description
  schema                   = each.value.schema
  clustering               = length(each.value.clustering) > 0 ? each.value.clustering : null
  require_partition_filter = true
  deletion_protection      = true

  time_partitioning {
    type  = "DAY"
    field = each.value.partition_field
  }
}
