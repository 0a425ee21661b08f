"""Alerts go out through the one notifier port (shared.ports.notifier: log, webhook, e-mail).

A notice's id is the rule and its window, so evaluating again within the same window re-sends the
same notice id (receivers drop duplicates, as for every Notice) rather than a new alert."""
from __future__ import annotations

import logging

from shared.metrics.rules import Alert
from shared.ports.notifier import Notice, NotificationFailed, Notifier

log = logging.getLogger("sportsflow.metrics")
ALERT_LINE = "metric alert firing"


def notice_of(alert: Alert) -> Notice:
    bucket = alert.window_start.replace(second=0, microsecond=0).isoformat()
    return Notice(notice_id=f"alert:{alert.rule.replace(' ', '-')}:{bucket}", subject=f"sportsflow alert: {alert.rule}",
                  outcome="failed", execution_id="", report_key="",
                  details={"rule": alert.rule, "severity": alert.severity, "detail": alert.detail})


def notify(alerts: list[Alert], notifier: Notifier) -> list[str]:
    """Announce each alert; the notice ids sent. A notifier that fails is logged, never raised."""
    notices = [(notice_of(alert), alert) for alert in alerts]
    return [notice.notice_id for notice, alert in notices if announce(notice, alert, notifier)]


def announce(notice: Notice, alert: Alert, notifier: Notifier) -> bool:
    """Log the alert line and send its notice; False (logged, never raised) when the notifier fails."""
    log.error(ALERT_LINE, extra={"fields": {"rule": alert.rule, "severity": alert.severity,
                                            "detail": alert.detail, "notice_id": notice.notice_id}})
    try:
        notifier.announce(notice)
    except NotificationFailed as failed:
        log.error("alert notification failed", extra={"fields": {"notice_id": notice.notice_id,
                                                                 "reason": str(failed)}})
        return False
    return True
