# Every topology topic, its dead-letter topic, and every subscription (SPEC §1, §5).

resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest; customer-managed keys would add a KMS key whose loss makes the data unreadable, and SPEC 5 asks for none
  for_each = var.topics

  name   = each.key
  labels = { message_type = lower(each.value.message_type) }

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest; customer-managed keys would add a KMS key whose loss makes the data unreadable, and SPEC 5 asks for none
  for_each = var.topics

  name   = each.value.dead_letter_topic
  labels = { dead_letter_of = each.key }

  depends_on = [google_project_service.enabled]
}

locals {
  # Subscriptions name topics; dead-letter sinks subscribe to dead-letter topics.
  topic_ids_by_name = merge(
    { for name, topic in google_pubsub_topic.topic : name => topic.id },
    { for topic in values(google_pubsub_topic.dead_letter) : topic.name => topic.id },
  )
}

resource "google_pubsub_subscription" "subscription" {
  for_each = var.subscriptions

  name                       = each.key
  topic                      = local.topic_ids_by_name[each.value.topic]
  ack_deadline_seconds       = each.value.ack_deadline_seconds
  enable_message_ordering    = each.value.enable_message_ordering
  message_retention_duration = each.value.push_function == null ? var.dead_letter_message_retention : var.subscription_message_retention

  retry_policy {
    minimum_backoff = each.value.min_backoff
    maximum_backoff = each.value.max_backoff
  }

  # Dead-letter sinks are the end of the line: they have no dead-letter topic of their own.
  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter_topic == null ? [] : [each.value]
    content {
      dead_letter_topic     = local.topic_ids_by_name[dead_letter_policy.value.dead_letter_topic]
      max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts
    }
  }

  dynamic "push_config" {
    for_each = each.value.push_function == null ? [] : [each.value]
    content {
      push_endpoint = "${local.function_urls[push_config.value.push_function]}${push_config.value.push_path}"
      oidc_token {
        service_account_email = google_service_account.push_invoker.email
        audience              = local.function_audiences[push_config.value.push_function]
      }
    }
  }

  # Never expire for inactivity: a quiet dead-letter sink must still exist when letters arrive.
  expiration_policy {
    ttl = ""
  }
}

# Dead-letter forwarding is done by the Pub/Sub service agent: it must publish to the
# dead-letter topics and acknowledge (subscribe) on the source subscriptions.
resource "google_pubsub_topic_iam_member" "service_agent_publishes_dead_letters" {
  for_each = google_pubsub_topic.dead_letter

  topic  = each.value.name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "service_agent_forwards_dead_letters" {
  for_each = local.dead_lettered

  subscription = google_pubsub_subscription.subscription[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
