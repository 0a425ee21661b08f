"""The notifier adapters: log, webhook (a real HTTP server on 127.0.0.1), e-mail stub (.eml files),
picked by setting; an ingestion announces its outcome through the configured one."""
from __future__ import annotations

import email
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.adapters.notifiers import EmailStubNotifier, LogNotifier, WebhookNotifier, notifier_for
from shared.config import ConfigError, Settings
from shared.ports.notifier import Notice, NotificationFailed

NOTICE = Notice(notice_id="ingestion:e1:1", subject="ingestion fixtures of t1: completed (apply)",
                outcome="completed", execution_id="e1", report_key="ingestion-reports/t1/e1/attempt-001.json",
                details={"counts": {"inserted": 3}})


class Receiver:
    """A webhook receiver on 127.0.0.1 recording each POST (headers and JSON body)."""

    def __init__(self, status=200):
        self.received, self.status = [], status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/ingestion"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def test_the_webhook_posts_the_notice_with_its_idempotency_key(receiver):
    notifier = WebhookNotifier(receiver.url)
    notifier.announce(NOTICE)
    notifier.close()
    ((headers, body),) = receiver.received
    assert body == NOTICE.as_dict() and headers["Idempotency-Key"] == "ingestion:e1:1"


def test_a_webhook_that_refuses_is_a_notification_failure(receiver):
    receiver.status = 500
    with pytest.raises(NotificationFailed, match="500"):
        WebhookNotifier(receiver.url).announce(NOTICE)


def test_the_email_stub_writes_one_eml_per_notice(tmp_path):
    notifier = EmailStubNotifier(tmp_path / "outbox", to="ops@example.test")
    notifier.announce(NOTICE)
    notifier.announce(NOTICE)  # announced again (a redelivery): the same file
    (path,) = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes())
    assert (message["To"], message["Subject"]) == ("ops@example.test", NOTICE.subject)
    assert json.loads(message.get_payload())["report_key"] == NOTICE.report_key


def test_the_log_notifier_logs_the_notice(caplog):
    with caplog.at_level(logging.INFO, logger="sportsflow.notifications"):
        LogNotifier().announce(NOTICE)
    (record,) = [r for r in caplog.records if r.getMessage() == "notification"]
    assert record.fields["execution_id"] == "e1"


def test_the_setting_picks_the_notifier(tmp_path):
    assert isinstance(notifier_for(Settings(home=tmp_path)), LogNotifier)
    assert isinstance(notifier_for(Settings(home=tmp_path, notifier="email")), EmailStubNotifier)
    webhook = Settings.from_env({"SPORTSFLOW_NOTIFIER": "webhook", "SPORTSFLOW_NOTIFY_WEBHOOK_URL": "http://127.0.0.1:9"})
    assert isinstance(notifier_for(webhook), WebhookNotifier) and notifier_for(webhook).url == "http://127.0.0.1:9"
    assert notifier_for(Settings(home=tmp_path, notifier="webhook:http://127.0.0.1:8/h")).url == "http://127.0.0.1:8/h"
    with pytest.raises(ConfigError, match="SPORTSFLOW_NOTIFY_WEBHOOK_URL"):
        notifier_for(Settings(home=tmp_path, notifier="webhook"))
    with pytest.raises(ConfigError, match="log, webhook, email"):
        notifier_for(Settings(home=tmp_path, notifier="pigeon"))
