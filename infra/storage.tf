# Evidence (write-once, SPEC §2), raw provider payloads, and function source zips.

resource "google_storage_bucket" "evidence" {
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

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket" "raw" {
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
