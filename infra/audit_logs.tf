# Who read or wrote which object: Data Access audit logs for Cloud Storage (the evidence, raw and
# function source buckets), the successor of legacy bucket usage logs (checkov CKV_GCP_62).

resource "google_project_iam_audit_config" "storage_data_access" {
  project = var.project_id
  service = "storage.googleapis.com"

  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}
