# Evidence (write-once, SPEC §2), raw provider payloads, and function source zips.

resource "google_storage_bucket" "evidence" {
  #checkov:skip=CKV_GCP_62:object access is recorded by the Data Access audit logs of audit_logs.tf, the successor of legacy usage logs
  #checkov:skip=CKV_GCP_78:Cloud Storage refuses Object Versioning together with a retention policy; the locked retention makes objects neither replaceable nor deletable
  name                        = local.evidence_bucket
  location                    = var.storage_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  # Per-object Locked retention (set by the evidence store on upload) needs this at creation.
  enable_object_retention = true

  # Floor for every object. Locking is irreversible: the period can be raised, never lowered.
  # Google refuses Object Versioning together with a retention policy; replacing or deleting
  # a retained object is refused anyway, so no version is ever lost.
  retention_policy {
    is_locked        = true
    retention_period = var.evidence_retention_days * 86400
  }

  # Evidence is read rarely after a promotion settles: colder storage after 90 days (seed 000).
  # A storage-class change keeps retention, holds and the bytes; it is not a rewrite.
  lifecycle_rule {
    condition {
      age = var.evidence_cold_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = "COLDLINE"
    }
  }

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [google_project_service.enabled]
}

# The second, cross-region copy of the evidence (seed 000: daily cross-region backups). Same
# locked retention floor, so the copy is as undeletable as the original; colder from the start.
resource "google_storage_bucket" "evidence_replica" {
  #checkov:skip=CKV_GCP_62:object access is recorded by the Data Access audit logs of audit_logs.tf, the successor of legacy usage logs
  #checkov:skip=CKV_GCP_78:Cloud Storage refuses Object Versioning together with a retention policy; the locked retention makes objects neither replaceable nor deletable
  name                        = "${local.evidence_bucket}-replica"
  location                    = var.evidence_replica_location
  storage_class               = "COLDLINE"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  enable_object_retention     = true

  retention_policy {
    is_locked        = true
    retention_period = var.evidence_retention_days * 86400
  }

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [google_project_service.enabled]
}

data "google_storage_transfer_project_service_account" "default" {
  project = var.project_id
}

# Daily create-only copies to the replica buckets (evidence here, raw payloads in backups.tf):
# never deletes or overwrites in a replica.
locals {
  replicated_buckets = {
    evidence = { source = google_storage_bucket.evidence.name, replica = google_storage_bucket.evidence_replica.name, minutes = 30 }
    raw      = { source = google_storage_bucket.raw.name, replica = google_storage_bucket.raw_replica.name, minutes = 45 }
  }
  transfer_member = "serviceAccount:${data.google_storage_transfer_project_service_account.default.email}"
}

resource "google_storage_bucket_iam_member" "transfer_reader" {
  for_each = local.replicated_buckets
  bucket   = each.value.source
  role     = "roles/storage.objectViewer"
  member   = local.transfer_member
}

resource "google_storage_bucket_iam_member" "transfer_writer" {
  for_each = local.replicated_buckets
  bucket   = each.value.replica
  role     = "roles/storage.objectCreator"
  member   = local.transfer_member
}

resource "google_storage_bucket_iam_member" "transfer_bucket_reader" {
  for_each = { for pair in flatten([for name, copy in local.replicated_buckets : [
    { key = "${name}-source", bucket = copy.source }, { key = "${name}-replica", bucket = copy.replica }
  ]]) : pair.key => pair.bucket }
  bucket = each.value
  role   = "roles/storage.legacyBucketReader"
  member = local.transfer_member
}

resource "google_storage_transfer_job" "replica" {
  for_each    = local.replicated_buckets
  description = "sportsflow ${each.key}: daily cross-region copy"
  project     = var.project_id

  transfer_spec {
    gcs_data_source {
      bucket_name = each.value.source
    }
    gcs_data_sink {
      bucket_name = each.value.replica
    }
    transfer_options {
      overwrite_objects_already_existing_in_sink = false
      delete_objects_from_source_after_transfer  = false
      delete_objects_unique_in_sink              = false
    }
  }

  schedule {
    schedule_start_date {
      year  = 2025
      month = 1
      day   = 1
    }
    start_time_of_day {
      hours   = 3
      minutes = each.value.minutes
      seconds = 0
      nanos   = 0
    }
    repeat_interval = "86400s"
  }

  depends_on = [
    google_storage_bucket_iam_member.transfer_reader,
    google_storage_bucket_iam_member.transfer_writer,
    google_storage_bucket_iam_member.transfer_bucket_reader,
  ]
}

moved {
  from = google_storage_transfer_job.evidence_replica
  to   = google_storage_transfer_job.replica["evidence"]
}

moved {
  from = google_storage_bucket_iam_member.evidence_transfer_reader
  to   = google_storage_bucket_iam_member.transfer_reader["evidence"]
}

moved {
  from = google_storage_bucket_iam_member.evidence_transfer_writer
  to   = google_storage_bucket_iam_member.transfer_writer["evidence"]
}

resource "google_storage_bucket" "raw" {
  #checkov:skip=CKV_GCP_62:object access is recorded by the Data Access audit logs of audit_logs.tf, the successor of legacy usage logs
  name                        = local.raw_bucket
  location                    = var.storage_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = var.raw_lifecycle.nearline_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }

  lifecycle_rule {
    condition {
      age = var.raw_lifecycle.coldline_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = "COLDLINE"
    }
  }

  lifecycle_rule {
    condition {
      age = var.raw_lifecycle.delete_after_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket" "function_source" {
  #checkov:skip=CKV_GCP_62:object access is recorded by the Data Access audit logs of audit_logs.tf, the successor of legacy usage logs
  #checkov:skip=CKV_GCP_78:zips are named by their content hash and uploaded with --no-clobber: an object is never overwritten, so there is no older version to keep
  name                        = local.function_source_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Zips are named by content hash; old ones are only needed for a rollback.
  lifecycle_rule {
    condition {
      age = 180
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}
