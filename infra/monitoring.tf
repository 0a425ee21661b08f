# Alerts: dead letters, stuck push subscriptions, function errors (pipeline health), and
# the log-based rules of SPEC §2 (validation) and §3 (live matches). The structured log
# lines these count are listed in infra/README.md.

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.notification_emails)

  display_name = "sportsflow alerts: ${each.value}"
  type         = "email"
  labels       = { email_address = each.value }
}

locals {
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]

  push_subscription_ids = join(", ", [for name in keys(local.push_subscriptions) : "\"${name}\""])
  pull_subscription_ids = join(", ", [for name in keys(local.pull_subscriptions) : "\"${name}\""])
  function_service_ids  = join(", ", [for id in values(local.function_ids) : "\"${id}\""])

  # Log-based counters: jsonPayload.message is the `message` of a sportsflow log line.
  log_events = {
    validation_finished = {
      description = "Outcome validations finished (one line per validation)."
      filter      = "jsonPayload.message=\"validation finished\""
      labels      = []
    }
    validation_slow = {
      description = "Outcome validations slower than the latency threshold."
      filter      = "jsonPayload.message=\"validation finished\" AND jsonPayload.duration_ms>${var.alert_thresholds.validation_slow_ms}"
      labels      = []
    }
    validation_failed = {
      description = "Outcome validations that failed."
      filter      = "jsonPayload.message=\"validation finished\" AND jsonPayload.succeeded=false"
      labels      = []
    }
    evidence_integrity_failure = {
      description = "Evidence whose bytes no longer match their recorded SHA-256."
      filter      = "jsonPayload.message=\"evidence integrity failure\""
      labels      = []
    }
    synthetic_validation_failed = {
      description = "The 5-minute synthetic validation failed somewhere along the path."
      filter      = "jsonPayload.message=\"synthetic validation failed\""
      labels      = []
    }
    source_disagreement_drift = {
      description = "A result source's recent disagreement rate rose above its norm (labelled by source)."
      filter      = "jsonPayload.message=\"source disagreement drift\""
      labels      = ["source"]
    }
    live_match_stale = {
      description = "The live-match watchdog flagged a stale or frozen match (labelled by ladder step)."
      filter      = "jsonPayload.message=\"live match stale\""
      labels      = ["ladder_step", "reason"]
    }
    prediction_coverage_low = {
      description = "The Phase 5 status check found prediction coverage below target."
      filter      = "jsonPayload.message=\"prediction coverage low\""
      labels      = []
    }
    pipeline_date_late = {
      description = "A date whose Phase 4 had not finished 6 h after its first completion."
      filter      = "jsonPayload.message=\"pipeline date not finished by deadline\""
      labels      = []
    }
    settlement_checksum_mismatch = {
      description = "A settlement replay whose effect differs from the applied one (flagged, not applied)."
      filter      = "jsonPayload.message=\"settlement effect checksum mismatch\""
      labels      = []
    }
    function_invocations = {
      description = "Function invocations by function and outcome (ok, retried, dead_lettered, refused)."
      filter      = "jsonPayload.message=\"function invocation\""
      labels      = ["function", "outcome"]
    }
    # The platform's own points (shared/metrics/recorder.py PLATFORM): "metric" lines named by jsonPayload.metric.
    retry = {
      description = "Deliveries a function failed transiently (nacked: Pub/Sub redelivers), by function."
      filter      = "jsonPayload.message=\"metric\" AND jsonPayload.metric=\"retry\""
      labels      = ["function", "error"]
    }
    dead_letter = {
      description = "Messages a function dead-lettered (bad input, permanent error), by function and kind."
      filter      = "jsonPayload.message=\"metric\" AND jsonPayload.metric=\"dead_letter\""
      labels      = ["function", "error_kind"]
    }
    breaker_state = {
      description = "Circuit breaker transitions by provider and the state entered (closed, open, half_open)."
      filter      = "jsonPayload.message=\"metric\" AND jsonPayload.metric=\"breaker_state\""
      labels      = ["provider", "state"]
    }
  }

  # Fire on the first occurrence within a 5-minute window.
  any_occurrence_alerts = {
    evidence_integrity_failure = {
      severity      = "CRITICAL"
      metric_filter = ""
      documentation = "Evidence failed its SHA-256 check (SPEC §2: 100% integrity). Find the key in the `evidence integrity failure` log lines; put the object on legal hold and investigate."
    }
    synthetic_validation_failed = {
      severity      = "ERROR"
      metric_filter = ""
      documentation = "The synthetic validation that runs every 5 minutes failed (SPEC §2). The log line names the failing step."
    }
    source_disagreement_drift = {
      severity      = "WARNING"
      metric_filter = ""
      documentation = "A result source disagrees with the others more than usual (SPEC §2 source reliability). `sportsflow validation sources` shows its rates; check its payloads in the review queue and lower its weight if it stays wrong."
    }
    live_match_stale = {
      severity      = "ERROR"
      metric_filter = " AND metric.labels.ladder_step=\"error\""
      documentation = "A live match stayed stale or frozen after a forced reconcile (SPEC §3 watchdog ladder reached `error`)."
    }
    prediction_coverage_low = {
      severity      = "WARNING"
      metric_filter = ""
      documentation = "Prediction coverage is below 90% at the 7:00 PT status check (SPEC §1)."
    }
    pipeline_date_late = {
      severity      = "ERROR"
      metric_filter = ""
      documentation = "A date's pipeline did not finish by its deadline and the 10-minute repair pass could not finish it. `sportsflow status --date D` names what is missing, failed or held."
    }
    settlement_checksum_mismatch = {
      severity      = "WARNING"
      metric_filter = ""
      documentation = "A settlement event's points differ from those already applied for its match (SPEC §4 idempotency ledger): usually a corrected score. Nothing was applied. Find `settlement_key` in the log line; if the new score is right, run `sportsflow leaderboard resettle` (or POST /settlements with correction: true)."
    }
  }

  ratio_alerts = {
    validation_latency = {
      numerator     = "validation_slow"
      denominator   = "validation_finished"
      window        = "300s"
      threshold     = var.alert_thresholds.validation_slow_ratio
      documentation = "More than 5% of outcome validations took longer than 2 s in 5 minutes (SPEC §2)."
    }
    validation_failures = {
      numerator     = "validation_failed"
      denominator   = "validation_finished"
      window        = "900s"
      threshold     = var.alert_thresholds.validation_failure_ratio
      documentation = "More than 1% of outcome validations failed in 15 minutes (SPEC §2)."
    }
  }
}

resource "google_logging_metric" "event" {
  for_each = local.log_events

  name        = "sportsflow/${each.key}"
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.value
        value_type = "STRING"
      }
    }
  }

  label_extractors = { for label in each.value.labels : label => "EXTRACT(jsonPayload.${label})" }
}

# Latency of each function invocation (the same "function invocation" lines), as a distribution.
resource "google_logging_metric" "function_latency" {
  name            = "sportsflow/function_latency"
  description     = "Function invocation latency in ms by function and outcome."
  filter          = "jsonPayload.message=\"function invocation\""
  value_extractor = "EXTRACT(jsonPayload.value)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"

    dynamic "labels" {
      for_each = ["function", "outcome"]
      content {
        key        = labels.value
        value_type = "STRING"
      }
    }
  }

  label_extractors = { for label in ["function", "outcome"] : label => "EXTRACT(jsonPayload.${label})" }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 32
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_monitoring_alert_policy" "log_event" {
  for_each = local.any_occurrence_alerts

  display_name          = "sportsflow: ${replace(each.key, "_", " ")}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = local.notification_channels

  conditions {
    display_name = "${each.key} logged"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.event[each.key].name}\"${each.value.metric_filter}"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = each.value.documentation
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "log_ratio" {
  for_each = local.ratio_alerts

  display_name          = "sportsflow: ${replace(each.key, "_", " ")}"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "${each.value.numerator} / ${each.value.denominator} > ${each.value.threshold}"
    condition_threshold {
      filter             = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.event[each.value.numerator].name}\""
      denominator_filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.event[each.value.denominator].name}\""
      comparison         = "COMPARISON_GT"
      threshold_value    = each.value.threshold
      duration           = "0s"
      aggregations {
        alignment_period     = each.value.window
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = each.value.window
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = each.value.documentation
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "sportsflow: dead letters waiting"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "undelivered messages on a dead-letter sink"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=one_of(${local.pull_subscription_ids})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Messages reached a dead-letter sink: they could not be processed (bad input) or failed every delivery attempt. Inspect with `sportsflow` dead-letter tooling, fix, replay."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "push_backlog" {
  display_name          = "sportsflow: push subscription backlog"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "oldest unacked message older than ${var.alert_thresholds.push_oldest_unacked_age_seconds}s"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=one_of(${local.push_subscription_ids})"
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_thresholds.push_oldest_unacked_age_seconds
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "A push subscription is not draining: its function keeps failing or is overloaded (SPEC §1 target: predictions < 60 min after Phase 2)."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  display_name          = "sportsflow: function error rate"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "5xx responses above ${var.alert_thresholds.function_error_ratio * 100}% of requests"
    condition_threshold {
      filter             = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND metric.labels.response_code_class=\"5xx\" AND resource.labels.service_name=one_of(${local.function_service_ids})"
      denominator_filter = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=one_of(${local.function_service_ids})"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_thresholds.function_error_ratio
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    content   = "A function answers 5xx to more than the threshold of its requests (Pub/Sub will redeliver, then dead-letter)."
    mime_type = "text/markdown"
  }
}

# The gauges of the platform's "metric" lines: their value as a distribution, by label.
locals {
  prediction_coverage_target = 0.9 # SPEC §1; COVERAGE_TARGET in shared/metrics/rules.py

  metric_gauges = {
    prediction_coverage = {
      description = "Prediction coverage (0-1) recorded by the 7:00 status check, by date."
      labels      = ["analysis_date"]
    }
    fan_in_progress = {
      description = "Parts of a fan-in completed (of jsonPayload.expected), by orchestrator and date."
      labels      = ["orchestrator", "analysis_date"]
    }
  }
}

resource "google_logging_metric" "gauge" {
  for_each = local.metric_gauges

  name            = "sportsflow/${each.key}"
  description     = each.value.description
  filter          = "jsonPayload.message=\"metric\" AND jsonPayload.metric=\"${each.key}\""
  value_extractor = "EXTRACT(jsonPayload.value)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.value
        value_type = "STRING"
      }
    }
  }

  label_extractors = { for label in each.value.labels : label => "EXTRACT(jsonPayload.${label})" }

  bucket_options {
    linear_buckets {
      num_finite_buckets = 20
      width              = 0.05
      offset             = 0
    }
  }
}

# shared/metrics/rules.py "prediction coverage below target": the coverage recorded in the last
# hour (the 7:00 check records one point per date) is below the target.
resource "google_monitoring_alert_policy" "prediction_coverage" {
  display_name          = "sportsflow: prediction coverage below target"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "prediction_coverage below ${local.prediction_coverage_target}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.gauge["prediction_coverage"].name}\""
      comparison      = "COMPARISON_LT"
      threshold_value = local.prediction_coverage_target
      duration        = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_PERCENTILE_50"
        cross_series_reducer = "REDUCE_MIN"
      }
    }
  }

  documentation {
    content   = "Prediction coverage of a date is below 90% (SPEC §1). The operations page /coverage?date=D names the missing players and why."
    mime_type = "text/markdown"
  }
}
