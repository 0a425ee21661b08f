"""`check_alerts`: every rule of shared.metrics.rules evaluated on the stored metrics over its window,
each firing *episode* announced once through the notifier (shared.ports.notifier).

An episode opens when a rule starts firing and closes at the first evaluation where it no longer
fires. Its document `alert_episodes/{rule}` (document store, so every evaluator — the CLI, the
scheduled `alerts_check` function, concurrent instances — agrees) holds the episode's notice id and
whether it was announced. The episode is claimed in a transaction *before* the notice goes out, and
marked announced after: a crash in between re-sends the same notice id at the next evaluation
(receivers drop duplicates by it), so an episode is announced at least once and, to a receiver,
exactly once; evaluations while it keeps firing send nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.metrics.notify import announce
from shared.metrics.rules import RULES, Alert, PointSource, evaluate
from shared.ports.notifier import Notice, Notifier

if TYPE_CHECKING:
    from shared.ports.documents import DocumentStore, Transaction

EPISODES = "alert_episodes"
RESOLVED_LINE = "metric alert resolved"
log = logging.getLogger("sportsflow.metrics")


@dataclass
class CheckResult:
    firing: list[Alert] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)  # notice ids sent by this evaluation
    resolved: list[str] = field(default_factory=list)   # rules whose episode this evaluation closed
    failed: list[str] = field(default_factory=list)     # notice ids the notifier refused (re-sent next time)

    def as_json(self) -> dict[str, Any]:
        return {"firing": [{"rule": a.rule, "severity": a.severity, "detail": a.detail} for a in self.firing],
                "announced": self.announced, "resolved": self.resolved, "notify_failed": self.failed}


def check_alerts(documents: "DocumentStore", source: PointSource, notifier: Notifier, now: datetime,
                 rules=RULES) -> CheckResult:
    result = CheckResult(firing=evaluate(source, now, rules))
    firing = {alert.rule: alert for alert in result.firing}
    for rule in rules:
        path = f"{EPISODES}/{_slug(rule.name)}"
        alert = firing.get(rule.name)
        if alert is None:
            if _close_episode(documents, path, now):
                log.info(RESOLVED_LINE, extra={"fields": {"rule": rule.name}})
                result.resolved.append(rule.name)
            continue
        episode = _open_episode(documents, path, alert, now)
        if episode["announced"]:
            continue
        notice = _notice(alert, episode["notice_id"])
        if not announce(notice, alert, notifier):
            result.failed.append(notice.notice_id)
            continue
        documents.update(path, {"announced": True, "announced_at": now})
        result.announced.append(notice.notice_id)
    return result


def _open_episode(documents: "DocumentStore", path: str, alert: Alert, now: datetime) -> dict[str, Any]:
    """The rule's open episode, opening a new one if none is open (atomically: one per episode)."""
    def claim(tx: "Transaction") -> dict[str, Any]:
        current = tx.get(path)
        if current is not None and current.data.get("state") == "open":
            return current.data
        episode = {"rule": alert.rule, "state": "open", "started_at": now, "announced": False,
                   "notice_id": f"alert:{_slug(alert.rule)}:{now.replace(microsecond=0).isoformat()}",
                   "severity": alert.severity, "detail": alert.detail}
        tx.set(path, episode)
        return episode

    return documents.run_transaction(claim)


def _close_episode(documents: "DocumentStore", path: str, now: datetime) -> bool:
    def close(tx: "Transaction") -> bool:
        current = tx.get(path)
        if current is None or current.data.get("state") != "open":
            return False
        tx.update(path, {"state": "closed", "ended_at": now})
        return True

    return documents.run_transaction(close)


def _notice(alert: Alert, notice_id: str) -> Notice:
    return Notice(notice_id=notice_id, subject=f"sportsflow alert: {alert.rule}", outcome="failed",
                  details={"rule": alert.rule, "severity": alert.severity, "detail": alert.detail})


def _slug(rule: str) -> str:
    return rule.replace(" ", "-")


def cloud_monitoring_policies(rules=RULES) -> str:
    """On gcp no process holds the points: what evaluates each rule instead (one line per rule)."""
    lines = [f"  {rule.name}: {rule.policy}" for rule in rules]
    return ("on gcp the alert rules are evaluated by Cloud Monitoring, as the alert policies of "
            "infra/monitoring.tf (see them in the console's Monitoring > Alerting, or "
            "`gcloud alpha monitoring policies list --filter='displayName:sportsflow'`):\n" + "\n".join(lines))


def check_stored_alerts(services) -> CheckResult:
    """The check on a Services: the process's metrics store, its notifier, the store's clock."""
    from shared.metrics.recorder import process_metrics

    return check_alerts(services.documents, process_metrics(services.settings), services.notifier,
                        services.documents.now())


def handle_alerts_check_request(request) -> Any:
    """The `alerts_check` HTTP function (Cloud Scheduler, every 5 minutes): 200 with what fired and
    what was announced; never a 5xx for a firing alert (only for a failed evaluation, which is retried)."""
    import json

    import flask

    from shared.metrics.recorder import stores_points
    from shared.runtime.entrypoints import process_services

    services = process_services()
    if not stores_points(services.settings):  # gcp: Cloud Monitoring's policies do it; a 5xx would retry forever
        body = {"evaluated_by": "Cloud Monitoring", "policies": {rule.name: rule.policy for rule in RULES}}
        return flask.Response(json.dumps(body), status=200, mimetype="application/json")
    result = check_stored_alerts(services)
    return flask.Response(json.dumps(result.as_json()), status=200, mimetype="application/json")
