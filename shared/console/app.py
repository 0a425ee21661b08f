"""The console's HTTP function (`console` in the topology; `sportsflow console` locally).

Routes (the topology's http_paths are HTTP_PATHS; HttpFunction has authenticated the caller):

    GET  /                                  overview: health in brief, links to every page
    GET  /pipeline[?date=D]                 runs by date; one date's phases, fan-ins, what is missing and why
    GET  /coverage                          prediction coverage by date and system
    GET  /validations?game_id=&team=&promotion_id=&outcome=&after=KEY
    GET  /validations/{decision_key}        the evidence trail and the latest checkpoint
    GET  /validations/{decision_key}/proof  its inclusion proof against the latest checkpoint
    GET  /reviews[?status=open|decided|all] the review queue
    POST /reviews/{decision_key}/decide     an override (admin): outcome, reason; audited as evidence
    GET  /live[?date=D]                     live matches (or a diary date) with minute_text, "Data delayed"
    GET  /executions[?status=&job_type=]    executions of commands
    GET  /leaderboards[/{board_id}?page=N]  leaderboards
    GET  /health                            deep health (HTML); /health.json the same as JSON, 503 when down

A page that cannot be read renders a message saying what failed and what to do — never a trace.
"""
from __future__ import annotations

import logging
import re
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.console import charts, views
from shared.runtime.auth import Forbidden, caller_of, require_admin

if TYPE_CHECKING:
    import flask

    from shared.bootstrap import Services

log = logging.getLogger("sportsflow.console")

HTTP_PATHS = ("/", "/pipeline", "/coverage", "/validations", "/validations/{decision_key}",
              "/validations/{decision_key}/proof", "/reviews",
              "/reviews/{decision_key}/decide", "/live", "/executions", "/leaderboards", "/leaderboards/{board_id}",
              "/health", "/health.json")
NAV = (("/", "Overview"), ("/pipeline", "Pipeline"), ("/coverage", "Coverage"), ("/validations", "Validations"),
       ("/reviews", "Review queue"), ("/live", "Live"), ("/executions", "Executions"),
       ("/leaderboards", "Leaderboards"), ("/health", "Health"))
OVERRIDE_AUDIT = "console override recorded"
_KEY = r"([A-Za-z0-9_.:-]{1,200})"

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(("html",)), trim_blocks=True, lstrip_blocks=True)
TEMPLATES.filters["urlquote"] = lambda value: quote(str(value), safe="")


class PageError(Exception):
    """A request the console cannot answer, with the status and a message for the person."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def handle_console_request(request: "flask.Request", *, services: "Services | None" = None):
    if services is None:
        from shared.runtime.entrypoints import process_services
        services = process_services()
    path = request.path.rstrip("/") or "/"
    started = time.perf_counter()
    status = 500
    try:
        for pattern, method, view in ROUTES:
            match = pattern.fullmatch(path)
            if match and request.method == method:
                response = view(services, request, *match.groups())
                status = _status_of(response)
                return response
            if match:
                raise PageError(405, f"{path} answers {method} only")
        raise PageError(404, f"there is no page {path[:200]}")
    except PageError as error:
        status = error.status
        return _page(request, "error.html", {"message": str(error), "status": error.status}, error.status)
    except Forbidden as refused:
        status = 403
        return _page(request, "error.html", {"message": f"not allowed: {refused}", "status": 403}, 403)
    except Exception as error:  # any failure below is a message on the page; the trace goes to the log only
        log.exception("console page failed", extra={"fields": {"path": path[:200]}})
        message = (f"could not read this page's stored state ({type(error).__name__}: {_first_line(error)}). "
                   "Check `sportsflow health`; if every dependency is up, the log line 'console page failed' "
                   "has the details.")
        return _page(request, "error.html", {"message": message, "status": 500}, 500)
    finally:
        _record(services, path, status, (time.perf_counter() - started) * 1000)


# --- pages ----------------------------------------------------------------------------------------

def overview(services, request):
    letters = views.dead_letters_by_function(services)
    chart = charts.bar_chart("dead letters of the last 7 days, by function", list(letters.items()))
    over_time = charts.line_chart("dead letters per hour, last 24 h, by kind",
                                  views.metric_over_time(services, "dead_letter", by="error_kind"))
    retries = charts.line_chart("retries (transient failures, redelivered) per hour, last 24 h, by function",
                                views.metric_over_time(services, "retry", by="function"))
    return _page(request, "overview.html", {"health": views.health(services), "dead_letters": chart,
                                            "dead_letters_over_time": over_time, "retries": retries})


def pipeline(services, request):
    day = _date_arg(request, "date")
    days, pages = views.date_page(services, _int_arg(request, "page", 1))
    rows = views.pipeline_dates(services, days)
    context: dict[str, Any] = {"dates": rows, "page": _int_arg(request, "page", 1), "pages": pages,
                               "repairs": views.reconciler_repairs(services)}
    if day:
        context["status"] = views.pipeline_date(services, day)
    context["chart"] = charts.bar_chart("fan-in progress (processors of Phases 2-4 done)",
                                        [(r["date"], r["done"] / r["total"] if r["total"] else 0.0) for r in rows],
                                        unit="%", maximum=1.0)
    context["latency_chart"] = charts.line_chart("pipeline function latency, last 24 h (ms, per 15 min)",
                                                 views.pipeline_latency(services), unit=" ms")
    context["phase_chart"] = charts.bar_chart("fan-in progress by phase (parts completed of expected)",
                                              views.fan_in_progress(services, days), unit="%", maximum=1.0)
    context["backlog_chart"] = charts.line_chart(
        "queue backlog: messages pending per subscription at each drain, last 24 h (per 15 min)",
        views.metric_over_time(services, "queue_backlog", by="subscription", bucket_minutes=15, combine="last"))
    return _page(request, "pipeline.html", context)


def coverage(services, request):
    day = _date_arg(request, "date")
    days, pages = views.date_page(services, _int_arg(request, "page", 1))
    rows = views.coverage_by_date(services, days)
    chart = charts.bar_chart("prediction coverage by date", [(r["date"], r["coverage"]) for r in rows],
                             unit="%", maximum=1.0)
    detail = views.coverage_of_date(services, day) if day else None
    if detail and "error" not in detail:
        detail["chart"] = charts.bar_chart(f"players predicted by each system on {day}",
                                           list(detail["systems"].items()))
    return _page(request, "coverage.html", {"rows": rows, "systems": views.SYSTEMS, "chart": chart, "detail": detail,
                                            "page": _int_arg(request, "page", 1), "pages": pages})


def validations(services, request):
    filters = {name: request.args.get(name, "").strip()[:100] for name in views.VALIDATION_FILTERS}
    result = views.validations(services, filters, after=request.args.get("after", "").strip()[:200])
    return _page(request, "validations.html", {**result, "filters": filters})


def validation_record(services, request, decision_key):
    record = views.validation_record(services, decision_key)
    if record is None:
        raise PageError(404, f"no decision {decision_key!r}: search for it on the validations page")
    return _page(request, "validation.html", {**record, "decision_key": decision_key})


def validation_proof(services, request, decision_key):
    record = views.validation_record(services, decision_key)
    if record is None:
        raise PageError(404, f"no decision {decision_key!r}: search for it on the validations page")
    proof = views.inclusion_proof(services, record["decision"]["evidence_key"])
    return _page(request, "proof.html", {**record, **proof, "decision_key": decision_key})


def reviews(services, request):
    status = request.args.get("status", "open")
    if status not in ("open", "decided", "all"):
        raise PageError(400, "status is one of open, decided, all")
    caller = caller_of(request)
    return _page(request, "reviews.html", {"items": views.review_queue(services, status), "status": status,
                                           "is_admin": caller.is_admin})


def decide_review(services, request, decision_key):
    caller = require_admin(request)
    outcome, reason = request.form.get("outcome", ""), request.form.get("reason", "")
    from shared.validation.review import ReviewError
    try:
        action = views.decide_review(services, decision_key, outcome, reason, caller.identity)
    except ReviewError as refused:
        raise PageError(400, str(refused)) from None
    log.info(OVERRIDE_AUDIT, extra={"fields": {"decision_key": decision_key, "actor": caller.identity,
                                               "outcome": outcome, "action_id": action["action_id"],
                                               "evidence_key": action["evidence_key"]}})
    import flask
    return flask.redirect(f"{_prefix(request)}/validations/{quote(decision_key, safe='')}", code=303)


def live(services, request):
    day = _date_arg(request, "date")
    return _page(request, "live.html", views.live_matches(services, day.isoformat() if day else None))


def executions(services, request):
    status, job_type = request.args.get("status", "")[:40], request.args.get("job_type", "")[:40]
    return _page(request, "executions.html", {"rows": views.executions(services, status, job_type),
                                              "status": status, "job_type": job_type})


def leaderboards(services, request):
    return _page(request, "leaderboards.html", {"boards": views.leaderboards(services), "board": None})


def leaderboard(services, request, board_id):
    try:
        page = views.leaderboard_page(services, board_id, _int_arg(request, "page", 1))
    except LookupError as missing:
        raise PageError(404, str(missing)) from None
    return _page(request, "leaderboards.html", {"boards": views.leaderboards(services), "board": page})


def health(services, request):
    report = views.health(services)
    latency = views.page_latency(services)
    chart = charts.bar_chart("console pages, median render in the last hour (ms)", latency) if latency else ""
    breakers = charts.line_chart("circuit breaker state per provider, last 24 h (0 closed, 1 half-open, 2 open)",
                                 views.breaker_states(services))
    return _page(request, "health.html", {"health": report, "latency": chart, "breakers": breakers},
                 200 if report["ok"] else 503)


def health_json(services, request):
    import flask
    report = views.health(services)
    report.pop("rows")
    return flask.jsonify(report), 200 if report["ok"] else 503


def _route(path: str) -> "re.Pattern[str]":
    return re.compile(re.sub(r"\{[a-z_]+\}", _KEY, re.escape(path).replace(r"\{", "{").replace(r"\}", "}")))


ROUTES: tuple[tuple["re.Pattern[str]", str, Callable], ...] = tuple(
    (_route(path), method, view) for path, method, view in (
        ("/", "GET", overview), ("/pipeline", "GET", pipeline), ("/coverage", "GET", coverage),
        ("/validations", "GET", validations), ("/validations/{decision_key}", "GET", validation_record),
        ("/validations/{decision_key}/proof", "GET", validation_proof),
        ("/reviews", "GET", reviews), ("/reviews/{decision_key}/decide", "POST", decide_review),
        ("/live", "GET", live), ("/executions", "GET", executions), ("/leaderboards", "GET", leaderboards),
        ("/leaderboards/{board_id}", "GET", leaderboard), ("/health", "GET", health),
        ("/health.json", "GET", health_json)))


# --- helpers ---

def _record(services, path: str, status: int, latency_ms: float) -> None:
    """Each page's latency and outcome through the metrics interface (a page is never failed by it)."""
    from shared.metrics.recorder import process_metrics
    try:
        metrics = process_metrics(services.settings)
        page = _page_name(path)
        metrics.record("function_latency_ms", round(latency_ms, 2), function="console", page=page)
        metrics.record("function_outcome", 1.0, function="console", page=page, status=status)
    except Exception:  # noqa: BLE001 - metrics are best effort; the page was served
        log.warning("console metric not recorded", exc_info=True)


def _page_name(path: str) -> str:
    """The route, not the path: one series per page, not per decision key."""
    return next((name for name, route in _PAGE_ROUTES if route.fullmatch(path)), "unknown")


_PAGE_ROUTES = tuple((path, _route(path)) for path in HTTP_PATHS)


def _status_of(response) -> int:
    if isinstance(response, tuple):
        return int(response[1])
    return int(getattr(response, "status_code", 200))


def _page(request, template: str, context: dict[str, Any], status: int = 200):
    import flask
    try:
        caller = caller_of(request)
    except Exception:  # noqa: BLE001 - an error page may be rendered for a request without one
        caller = None
    body = TEMPLATES.get_template(template).render(**context, nav=NAV, here=request.path, caller=caller,
                                                   prefix=_prefix(request), args=request.args)
    return flask.Response(body, status=status, mimetype="text/html")


def _prefix(request) -> str:
    """The path the console is mounted under (empty locally; a Cloud Function's URL has no prefix either)."""
    return request.script_root or ""


def _date_arg(request, name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise PageError(400, f"{name} must be a date YYYY-MM-DD, got {value[:20]!r}") from None


def _int_arg(request, name: str, default: int) -> int:
    value = request.args.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 100000:
        raise PageError(400, f"{name} must be a positive whole number, got {value[:20]!r}")
    return int(value)


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else "no message"
