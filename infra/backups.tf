# Backups and restore (docs/runbooks.md "Restoring from backup", "A regional failover").
#
# - Firestore: point-in-time recovery (7 days of versions, set on the database in firestore.tf)
#   and scheduled backups: daily ones kept 7 days, weekly ones kept 14 weeks (Firestore's limits).
# - BigQuery: time travel on every dataset (bigquery.tf, var.bigquery_time_travel_hours) and a
#   daily table snapshot of every pipeline table into the `backups` dataset, kept
#   var.bigquery_snapshot_days; a snapshot costs only the bytes that later change.
# - Evidence: the daily cross-region copy is in storage.tf (evidence_replica). The raw provider
#   payloads, from which `sportsflow rebuild --from-evidence` re-derives the warehouse, get the
#   same daily cross-region copy here.

variable "firestore_daily_backup_retention" {
  description = "How long a daily Firestore backup is kept (a duration in seconds; at most 7 days)."
  type        = string
  default     = "604800s"
}

variable "firestore_weekly_backup_retention" {
  description = "How long a weekly Firestore backup is kept (a duration in seconds; at most 14 weeks)."
  type        = string
  default     = "8467200s"
}

variable "firestore_weekly_backup_day" {
  description = "The day of the week the weekly Firestore backup is taken."
  type        = string
  default     = "SUNDAY"
}

variable "bigquery_time_travel_hours" {
  description = "BigQuery time travel window of every dataset, in hours (48 to 168, a multiple of 24)."
  type        = string
  default     = "168"
}

variable "bigquery_snapshot_days" {
  description = "How many days a daily BigQuery table snapshot is kept."
  type        = number
  default     = 35
}

variable "bigquery_snapshot_schedule" {
  description = "When the daily table snapshots are taken (BigQuery Data Transfer schedule syntax, UTC)."
  type        = string
  default     = "every day 04:00"
}

variable "raw_replica_location" {
  description = "Region of the cross-region copy of the raw provider payloads (another region than var.storage_location)."
  type        = string
  default     = "us-east1"
}

# --- Firestore ------------------------------------------------------------------------------

resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.default.name
  retention = var.firestore_daily_backup_retention

  daily_recurrence {}
}

resource "google_firestore_backup_schedule" "weekly" {
  project   = var.project_id
  database  = google_firestore_database.default.name
  retention = var.firestore_weekly_backup_retention

  weekly_recurrence {
    day = var.firestore_weekly_backup_day
  }
}

# --- BigQuery -------------------------------------------------------------------------------

resource "google_bigquery_dataset" "backups" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption at rest, as for the pipeline datasets (bigquery.tf)
  dataset_id                  = "backups"
  location                    = var.bigquery_location
  description                 = "Daily table snapshots of every pipeline table (infra/backups.tf)."
  default_table_expiration_ms = var.bigquery_snapshot_days * 86400000
  delete_contents_on_destroy  = false
  max_time_travel_hours       = var.bigquery_time_travel_hours
  labels                      = { app = "sportsflow" }

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "bigquery_snapshots" {
  account_id   = "sportsflow-bq-snapshots"
  display_name = "sportsflow BigQuery table snapshots"
}

# Least privilege: it runs jobs in the project, reads the pipeline datasets and writes the
# backups dataset only.
resource "google_project_iam_member" "bigquery_snapshots" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.bigquery_snapshots.member
}

resource "google_bigquery_dataset_iam_member" "bigquery_snapshots_reads" {
  for_each = google_bigquery_dataset.dataset

  dataset_id = each.value.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.bigquery_snapshots.member
}

resource "google_bigquery_dataset_iam_member" "bigquery_snapshots_writes" {
  dataset_id = google_bigquery_dataset.backups.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.bigquery_snapshots.member
}

# One scheduled query per table: CREATE SNAPSHOT TABLE backups.<dataset>__<table>__<run date>.
resource "google_bigquery_data_transfer_config" "table_snapshot" {
  for_each = var.bigquery_tables

  display_name         = "sportsflow snapshot ${each.value.dataset}.${each.value.table}"
  location             = var.bigquery_location
  data_source_id       = "scheduled_query"
  schedule             = var.bigquery_snapshot_schedule
  service_account_name = google_service_account.bigquery_snapshots.email

  params = {
    query = <<-SQL
      EXECUTE IMMEDIATE FORMAT(
        "CREATE SNAPSHOT TABLE IF NOT EXISTS `%s.backups.%s__%s__%s` CLONE `%s.%s.%s` OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL %d DAY))",
        "${var.project_id}", "${each.value.dataset}", "${each.value.table}", FORMAT_DATE("%Y%m%d", @run_date),
        "${var.project_id}", "${each.value.dataset}", "${each.value.table}", ${var.bigquery_snapshot_days})
    SQL
  }

  depends_on = [
    google_bigquery_dataset.backups,
    google_bigquery_table.table,
    google_project_iam_member.bigquery_snapshots,
  ]
}

# --- Raw provider payloads: the cross-region copy the rebuild reads in a regional failover ---

resource "google_storage_bucket" "raw_replica" {
  #checkov:skip=CKV_GCP_62:object access is recorded by the Data Access audit logs of audit_logs.tf, the successor of legacy usage logs
  name                        = "${local.raw_bucket}-replica"
  location                    = var.raw_replica_location
  storage_class               = "NEARLINE"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  depends_on = [google_project_service.enabled]
}

# Its daily copy is google_storage_transfer_job.replica["raw"] in storage.tf.
