output "function_urls" {
  description = "Function name -> HTTPS URL (invocable only with an OIDC token of an allowed caller)."
  value       = local.function_urls
}

output "topic_ids" {
  description = "Topic name -> topic id."
  value       = { for name, topic in google_pubsub_topic.topic : name => topic.id }
}

output "dead_letter_topic_ids" {
  description = "Dead-letter topic name -> topic id."
  value       = { for topic in values(google_pubsub_topic.dead_letter) : topic.name => topic.id }
}

output "evidence_bucket" {
  description = "Write-once evidence bucket (locked retention, object retention enabled)."
  value       = google_storage_bucket.evidence.name
}

output "raw_bucket" {
  value = google_storage_bucket.raw.name
}

output "function_source_bucket" {
  value = google_storage_bucket.function_source.name
}

output "function_service_accounts" {
  description = "Function name -> its own service account email."
  value       = { for name, account in google_service_account.function : name => account.email }
}

output "evidence_replica_bucket" {
  description = "Cross-region copy of the evidence (locked retention, COLDLINE), filled daily by Storage Transfer."
  value       = google_storage_bucket.evidence_replica.name
}
