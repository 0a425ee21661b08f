# Fan-in ledgers, run claims, dead-letter records and live match state (SPEC §1, §3).

resource "google_firestore_database" "default" {
  name                    = "(default)"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"
  # Seven days of versions to read or restore from (infra/backups.tf has the scheduled backups).
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"

  depends_on = [google_project_service.enabled]
}

# Live match state (shared/live/store.py): the read API's not-started-and-due query and the
# diary query need composite indexes (status_id == 1 with a match_time range; diary_date == with
# order by match_time).
resource "google_firestore_index" "live_matches_status_match_time" {
  database   = google_firestore_database.default.name
  collection = "live_matches"

  fields {
    field_path = "status_id"
    order      = "ASCENDING"
  }
  fields {
    field_path = "match_time"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "live_matches_diary_date_match_time" {
  database   = google_firestore_database.default.name
  collection = "live_matches"

  fields {
    field_path = "diary_date"
    order      = "ASCENDING"
  }
  fields {
    field_path = "match_time"
    order      = "ASCENDING"
  }
}
