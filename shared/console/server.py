"""The console as a WSGI app for a browser on this machine (`sportsflow console`, the browser tests).

It is the topology's `console` HTTP function — the same HttpFunction, so the same authentication —
behind one local addition: a sign-in form. A browser cannot send `Authorization: Bearer`, so
`/login` takes the development token (invoker or admin) and keeps it in an HttpOnly, SameSite=Strict
cookie, which is turned back into the bearer header before HttpFunction verifies it. Without a
cookie or a header the visitor is refused (401) with the form. On gcp the function is reached with
an OIDC ID token in the Authorization header (an authenticating proxy in front of the browser adds
it); this cookie shim is not deployed.
"""
from __future__ import annotations

import functools
import json
from html import escape
from typing import TYPE_CHECKING, Callable

import flask
from werkzeug.wrappers import Request, Response

from shared.console.app import handle_console_request
from shared.runtime.entrypoints import HttpFunction
from shared.runtime.http_app import ALL_METHODS
from shared.topology import TOPOLOGY

if TYPE_CHECKING:
    from shared.bootstrap import Services

COOKIE = "sportsflow_console_token"
FUNCTION = "console"
MAX_TOKEN_CHARS = 512


def console_app(*, services: "Services | None" = None, verifier=None) -> flask.Flask:
    """The WSGI app; `services`/`verifier` given (tests) or the process's (a served function)."""
    spec = TOPOLOGY.function(FUNCTION)
    handler = functools.partial(handle_console_request, services=services) if services else None
    function = HttpFunction(spec, handler=handler, verifier=verifier,
                            services_factory=(lambda: services) if services else None)
    app = flask.Flask("sportsflow.console")

    def view(path: str = ""):
        return function(flask.request)

    app.add_url_rule("/", "root", view, methods=ALL_METHODS)
    app.add_url_rule("/<path:path>", "path", view, methods=ALL_METHODS)
    app.after_request(_refusals_as_pages)
    app.wsgi_app = CookieSignIn(app.wsgi_app)  # still a Flask app: functions-framework serves it as WSGI
    return app


class CookieSignIn:
    """WSGI middleware: /login and /logout, and the cookie carried as the bearer token."""

    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/login":
            return self._login(request)(environ, start_response)
        if request.path == "/logout":
            response = flask.redirect("/login", code=303)
            response.delete_cookie(COOKIE)
            return response(environ, start_response)
        if not environ.get("HTTP_AUTHORIZATION"):
            token = request.cookies.get(COOKIE, "")[:MAX_TOKEN_CHARS]
            if not token:
                return _login_page("Sign in to see the console.", 401)(environ, start_response)
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return self.app(environ, start_response)

    @staticmethod
    def _login(request: Request) -> Response:
        if request.method != "POST":
            return _login_page("", 200)
        token = (request.form.get("token") or "").strip()[:MAX_TOKEN_CHARS]
        if not token:
            return _login_page("Paste a development token.", 400)
        response = flask.redirect(request.args.get("next", "/") if _local(request.args.get("next")) else "/", code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure)
        return response


def _local(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


def _login_page(message: str, status: int) -> Response:
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · sportsflow</title>
<style>body{{font-family:system-ui,sans-serif;margin:3rem auto;max-width:32rem;color:#1d2330}}
.refused{{background:#fde7e4;padding:.6rem;border-radius:4px}} input{{width:100%;padding:.3rem}}</style></head>
<body><h1>sportsflow console</h1>{f'<p class="refused" id="refused">{escape(message)}</p>' if message else ''}
<form method="post" action="/login" id="login"><label>Development token<br>
<input type="password" name="token" autocomplete="off"></label>
<p>The invoker token is in <code>$SPORTSFLOW_HOME/dev-token</code>, the admin token (overrides) in
<code>$SPORTSFLOW_HOME/dev-admin-token</code>.</p><button type="submit">Sign in</button></form></body></html>"""
    return Response(body, status=status, mimetype="text/html")


def _refusals_as_pages(response: flask.Response) -> flask.Response:
    """HttpFunction refuses with JSON (for API clients); a browser gets the sign-in page with the reason."""
    if response.status_code in (401, 403) and response.mimetype == "application/json":
        try:
            reason = json.loads(response.get_data())["error"]
        except (ValueError, KeyError, TypeError):
            reason = "refused"
        return _login_page(f"Refused: {reason}", response.status_code)
    return response
