# The variables behind the settings every deployed function reads beyond the platform's own
# (provider URLs, validation policy, switches); infra/functions.tf sets them in each function's
# environment. tests/security/test_function_settings.py fails when the code reads a SPORTSFLOW_*
# setting that functions.tf does not set.

variable "provider_url" {
  description = "Base URL of the NBA stats provider Phase 1 scrapes (SPORTSFLOW_PROVIDER_URL); empty: Phase 1 answers 500 saying so."
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
