# --- where -------------------------------------------------------------------------
variable "project_id" {
  description = "Google Cloud project that hosts sportsflow."
  type        = string
}

variable "region" {
  description = "Region for functions, scheduler jobs and regional buckets."
  type        = string
  default     = "us-west1"
}

variable "storage_location" {
  description = "Location of the Cloud Storage buckets."
  type        = string
  default     = "US"
}

variable "bigquery_location" {
  description = "Location of the BigQuery datasets."
  type        = string
  default     = "US"
}

variable "firestore_location" {
  description = "Location of the Firestore database (multi-region nam5 by default)."
  type        = string
  default     = "nam5"
}

variable "enabled_apis" {
  description = "Google APIs the platform uses."
  type        = list(string)
  default = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
    "storagetransfer.googleapis.com",
  ]
}

# --- the topology (generated: infra/topology.auto.tfvars.json) ------------------------
variable "topics" {
  description = "Topics by name (from the topology)."
  type = map(object({
    message_type      = string
    dead_letter_topic = string
  }))
}

variable "subscriptions" {
  description = "Subscriptions by name (from the topology). push_function null = pull subscription."
  type = map(object({
    topic                   = string
    dead_letter_topic       = string
    max_delivery_attempts   = number
    min_backoff             = string
    max_backoff             = string
    ack_deadline_seconds    = number
    enable_message_ordering = bool
    push_function           = string
    push_path               = string
  }))
}

variable "functions" {
  description = "Functions by name (from the topology)."
  type = map(object({
    description     = string
    trigger         = string
    trigger_topic   = string
    publishes       = list(string)
    timeout_seconds = number
    memory_mb       = number
    max_instances   = number
    concurrency     = number
    api             = bool
    access          = list(string)
  }))

  validation {
    condition     = alltrue([for name in keys(var.functions) : length(name) >= 6 && length(name) <= 30])
    error_message = "Function names become service account ids: 6 to 30 characters."
  }
}

variable "scheduler_jobs" {
  description = "Cloud Scheduler jobs by name (from the topology). body is a JSON string."
  type = map(object({
    schedule        = string
    time_zone       = string
    target_function = string
    http_path       = string
    http_method     = string
    body            = string
    description     = string
  }))
}

# --- deployment inputs ---------------------------------------------------------------
variable "function_source_objects" {
  description = "Function name -> object name of its source zip in the source bucket (written by scripts/package_functions.py)."
  type        = map(string)
  default     = {}
}

variable "function_source_bucket" {
  description = "Bucket holding function source zips; default <project>-sportsflow-functions."
  type        = string
  default     = null
}

variable "function_ingress" {
  description = "Who may reach the functions over the network (never public)."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.function_ingress)
    error_message = "function_ingress must be ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "subscription_message_retention" {
  description = "How long push subscriptions keep unacknowledged messages."
  type        = string
  default     = "604800s"
}

variable "dead_letter_message_retention" {
  description = "How long pull (dead-letter sink) subscriptions keep messages for inspection and replay (max 31 days)."
  type        = string
  default     = "2678400s"
}

variable "scheduler_retry" {
  description = "Retry policy of Cloud Scheduler jobs."
  type = object({
    retry_count          = number
    min_backoff_duration = string
    max_backoff_duration = string
    max_doublings        = number
  })
  default = {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "600s"
    max_doublings        = 3
  }
}

# --- storage -------------------------------------------------------------------------
variable "evidence_bucket" {
  description = "Write-once evidence bucket; default <project>-sportsflow-evidence."
  type        = string
  default     = null
}

variable "raw_bucket" {
  description = "Raw provider payload bucket; default <project>-sportsflow-raw."
  type        = string
  default     = null
}

variable "evidence_retention_days" {
  description = "Locked bucket retention of evidence (2555 days ~ 7 years). Can be raised later, never lowered."
  type        = number
  default     = 2555
}

variable "evidence_cold_after_days" {
  description = "Evidence older than this moves to the COLDLINE storage class (seed 000: cold storage after 90 days)."
  type        = number
  default     = 90
}

variable "evidence_replica_location" {
  description = "Region of the second, cross-region copy of the evidence (a different region than storage_location)."
  type        = string
  default     = "EUROPE-WEST1"
}

variable "raw_lifecycle" {
  description = "Raw payloads: move to colder storage, then delete (days since creation)."
  type = object({
    nearline_after_days = number
    coldline_after_days = number
    delete_after_days   = number
  })
  default = {
    nearline_after_days = 30
    coldline_after_days = 90
    delete_after_days   = 730
  }
}

# --- warehouse -----------------------------------------------------------------------
variable "bigquery_datasets" {
  description = "BigQuery datasets."
  type        = list(string)
  default     = ["nba_raw", "nba_analytics", "nba_precompute", "nba_predictions", "ops"]
}

variable "bigquery_tables" {
  description = "Tables by \"dataset.table\": dataset, table, schema (JSON), DAY partition field, clustering fields."
  type = map(object({
    dataset         = string
    table           = string
    schema          = string
    partition_field = string
    clustering      = optional(list(string), [])
    description     = optional(string, "")
  }))
  default = {}
}

# --- alerting ------------------------------------------------------------------------
variable "notification_emails" {
  description = "Email addresses that receive every alert."
  type        = list(string)
  default     = []
}

variable "alert_thresholds" {
  description = "Alert thresholds (SPEC §2, §3 and pipeline health)."
  type = object({
    validation_slow_ms              = number
    validation_slow_ratio           = number
    validation_failure_ratio        = number
    function_error_ratio            = number
    push_oldest_unacked_age_seconds = number
  })
  default = {
    validation_slow_ms              = 2000
    validation_slow_ratio           = 0.05
    validation_failure_ratio        = 0.01
    function_error_ratio            = 0.05
    push_oldest_unacked_age_seconds = 900
  }
}

variable "api_invokers" {
  description = "Service-account e-mails allowed to call the client-facing HTTP APIs (functions with api = true in the topology: the predictions and live read APIs); each gets roles/run.invoker on those only and is checked again in the function."
  type        = list(string)
  default     = []
}

variable "admin_principals" {
  description = "Service-account e-mails that hold the admin role in the functions (admin routes), checked in the function."
  type        = list(string)
  default     = []
}

variable "fixtures_provider_url" {
  description = "Base URL of the fixtures provider the ingestion worker reads (SPORTSFLOW_FIXTURES_PROVIDER_URL); empty: ingestions fail saying so."
  type        = string
  default     = ""
}

variable "notifier" {
  description = "How ingestion outcomes are announced: log, webhook or email (SPORTSFLOW_NOTIFIER)."
  type        = string
  default     = "log"

  validation {
    condition     = contains(["log", "webhook", "email"], var.notifier)
    error_message = "notifier must be log, webhook or email."
  }
}

variable "notify_webhook_url" {
  description = "Where the webhook notifier POSTs each notice (SPORTSFLOW_NOTIFY_WEBHOOK_URL); required when notifier = webhook."
  type        = string
  default     = ""
}
