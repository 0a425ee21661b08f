"""Hostile review: a bad query parameter on GET /executions is a 400 that says what to send,
not a Python exception's text."""
from __future__ import annotations


def test_a_limit_that_is_not_a_number_says_what_to_send(call):
    status, body = call("GET", "/executions?limit=abc")
    assert status == 400
    assert "invalid literal" not in body["error"], body  # Python's int() message leaked to the caller
    assert "limit" in body["error"], body


def test_an_unknown_status_filter_is_refused_not_an_empty_list(call):
    status, body = call("GET", "/executions?status=no-such-state")
    assert status == 400, (status, body)  # queued|in_progress|completed|failed|cancelled (SPEC section 4)
