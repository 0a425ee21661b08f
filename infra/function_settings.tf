# Settings every deployed function reads beyond the platform's own (functions.tf): provider
# URLs, validation policy, feature switches. tests/security/test_function_settings.py fails when
# the code reads a SPORTSFLOW_* setting that neither this file nor functions.tf provides.

variable "provider_url" {
  description = "Base URL of the NBA stats provider Phase 1 scrapes (SPORTSFLOW_PROVIDER_URL); empty: phase1_scrapers answers 500 saying so."
  type        = string
  default     = ""
}

variable "live_provider_url" {
  description = "Base URL of the live-match provider the live functions poll (SPORTSFLOW_LIVE_PROVIDER_URL)."
  type        = string
  default     = ""
}

variable "result_sources" {
  description = "The validation monitor's result sources, \"espn=URL,mlb=URL\" (SPORTSFLOW_RESULT_SOURCES)."
  type        = string
  default     = ""
}

variable "validation_policy" {
  description = "Consensus policy of outcome validation: source weights (\"espn=0.6,mlb=0.4\"; empty = the shipped default), minimum confidence, promotion catalogue file (empty = the shipped one)."
  type = object({
    source_weights = string
    min_confidence = string
    promotions     = string
  })
  default = { source_weights = "", min_confidence = "1.0", promotions = "" }
}

variable "evidence_log_signing_key_path" {
  description = "Path of the evidence log's Ed25519 signing key (PEM) inside the function, e.g. a Secret Manager volume mount (SPORTSFLOW_LOG_SIGNING_KEY); empty: a key under SPORTSFLOW_HOME."
  type        = string
  default     = ""
}

variable "notify_email_to" {
  description = "Recipient of the e-mail notifier (SPORTSFLOW_NOTIFY_EMAIL_TO)."
  type        = string
  default     = "admins@sportsflow.local"
}

variable "pipeline_switches" {
  description = "Backfill switches: Phase 2 triggering Phase 3, Phase 4 fanning out predictions (\"on\"/\"off\")."
  type = object({
    phase3_trigger = string
    predictions    = string
  })
  default = { phase3_trigger = "on", predictions = "on" }
}

locals {
  function_settings = {
    SPORTSFLOW_HOME              = "/tmp/sportsflow" # the only writable directory of a function instance
    SPORTSFLOW_PROVIDER_URL      = var.provider_url
    SPORTSFLOW_LIVE_PROVIDER_URL = var.live_provider_url
    SPORTSFLOW_RESULT_SOURCES    = var.result_sources
    SPORTSFLOW_SOURCE_WEIGHTS    = var.validation_policy.source_weights
    SPORTSFLOW_MIN_CONFIDENCE    = var.validation_policy.min_confidence
    SPORTSFLOW_PROMOTIONS        = var.validation_policy.promotions
    SPORTSFLOW_LOG_SIGNING_KEY   = var.evidence_log_signing_key_path
    SPORTSFLOW_NOTIFY_EMAIL_TO   = var.notify_email_to
    SPORTSFLOW_PHASE3_TRIGGER    = var.pipeline_switches.phase3_trigger
    SPORTSFLOW_PREDICTIONS       = var.pipeline_switches.predictions
  }
}
