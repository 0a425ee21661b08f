"""The push gate: the development token standing in for Pub/Sub's OIDC token, and the push counters."""
from __future__ import annotations

import base64
import io
import json

from shared.dev.push import HEALTH_PATH, PushGate, push_endpoint
from shared.runtime.auth import DevTokenVerifier

TOKEN = "dev-secret"


def _app(status="204 No Content"):
    seen = []

    def app(environ, start_response):
        seen.append({"auth": environ.get("HTTP_AUTHORIZATION"), "query": environ.get("QUERY_STRING"),
                     "body": environ["wsgi.input"].read()})
        start_response(status, [])
        return [b""]
    return app, seen


def _call(gate, path="/projects/p/topics/t", query="", body=None, method="POST"):
    raw = json.dumps(body).encode() if body is not None else b""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    status = {}

    def start_response(s, headers, exc_info=None):
        status["code"] = int(s.split()[0])
    out = b"".join(gate(environ, start_response))
    return status["code"], out


def _push(message_id="m1", subscription="projects/p/subscriptions/s1"):
    return {"subscription": subscription,
            "message": {"messageId": message_id, "data": base64.b64encode(b"{}").decode(), "attributes": {}}}


def _gate(app, *, events=True):
    return PushGate(app, function="f", verify_events=events, verifier=DevTokenVerifier(TOKEN))


def test_an_event_function_refuses_a_push_without_the_token_and_with_a_wrong_one():
    app, seen = _app()
    gate = _gate(app)
    assert _call(gate, body=_push())[0] == 401
    assert _call(gate, query="token=wrong", body=_push())[0] == 403
    assert seen == []  # the function never ran


def test_the_token_moves_from_the_query_into_the_authorization_header_and_the_body_stays_readable():
    app, seen = _app()
    gate = _gate(app)
    code, _ = _call(gate, query=f"token={TOKEN}&keep=1", body=_push())
    assert code == 204
    assert seen[0]["auth"] == f"Bearer {TOKEN}"
    assert seen[0]["query"] == "keep=1"
    assert json.loads(seen[0]["body"])["message"]["messageId"] == "m1"


def test_an_http_function_authenticates_itself_so_the_gate_lets_it_decide():
    app, seen = _app("401 Unauthorized")
    gate = _gate(app, events=False)
    assert _call(gate, path="/ready", body=_push())[0] == 401  # the function's own answer
    assert seen[0]["auth"] is None


def test_counters_tell_acked_nacked_and_awaiting_redelivery_per_subscription():
    ok, _ = _app("204 No Content")
    failing, _ = _app("500 Internal Server Error")
    gate = _gate(failing)
    _call(gate, query=f"token={TOKEN}", body=_push("m1"))
    _call(gate, query=f"token={TOKEN}", body=_push("m2"))
    gate._app = ok  # m1 redelivered, now handled
    _call(gate, query=f"token={TOKEN}", body=_push("m1"))
    code, body = _call(gate, path=HEALTH_PATH, method="GET")
    assert code == 200
    counts = json.loads(body)["subscriptions"]["s1"]
    assert counts == {"delivered": 3, "acked": 1, "nacked": 2, "in_flight": 0, "awaiting_redelivery": 1}


def test_health_needs_no_token():
    app, _ = _app()
    assert _call(_gate(app), path=HEALTH_PATH, method="GET")[0] == 200


def test_push_endpoints():
    assert push_endpoint("http://127.0.0.1:9", "topic", project="p", topic="t1", path="", token="x y") == \
        "http://127.0.0.1:9/projects/p/topics/t1?token=x+y"
    assert push_endpoint("http://127.0.0.1:9", "http", project="p", topic="t1", path="/ready", token=None) == \
        "http://127.0.0.1:9/ready"
