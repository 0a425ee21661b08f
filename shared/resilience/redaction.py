"""What of a provider URL or error may reach logs, messages and callers: never credentials.

A URL is shown as scheme://host[:port]/path — no `user:pass@`, no query string (API keys),
at most 300 characters. Free text (an httpx error's message) has any URL credentials masked."""
from __future__ import annotations

import logging
import re

import httpx

MAX_URL_CHARS = 300
_CREDENTIALS_IN_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")
_QUERY_IN_URL = re.compile(r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s?#]*)[?#]\S*")


def redacted_url(url: httpx.URL | str) -> str:
    parsed = httpx.URL(str(url)) if not isinstance(url, httpx.URL) else url
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"[:MAX_URL_CHARS]


def redacted_text(text: str, limit: int = 500) -> str:
    """`text` with credentials and query strings of any URL in it removed, bounded."""
    masked = _CREDENTIALS_IN_URL.sub(lambda m: f"{m['scheme']}***@", text)
    return _QUERY_IN_URL.sub(lambda m: m["url"], masked)[:limit]


class RedactCredentials(logging.Filter):
    """Rewrites a record's message with `redacted_text`: httpx logs every request's full URL at
    INFO, credentials and API-key query strings included."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redacted_text(record.getMessage(), 2000), ()
        return True


def redact_http_client_logs() -> None:
    """Install the filter on the HTTP client libraries' loggers (idempotent)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
