"""The `executions_admin` HTTP function: admin commands answer 202 with an execution id.

    POST /settlements               {"tournament_id", "match_id", "status_timestamp"}  -> 202
    POST /ingestions                {"operation": "fixtures"|"results", "entity_id", "snapshot_version"?,
                                     "as_of"?}                                          -> 202
    GET  /executions?status=&job_type=&limit=                                          -> 200
    GET  /executions/{id}           the execution and its step log                     -> 200 | 404
    POST /executions/{id}/cancel                                                       -> 200 | 404 | 409
    GET  /health                    the one health route (Terraform and the docs name it) -> 200

The entry point has authenticated the caller (shared.runtime.auth); every route but /health
also needs the admin role (403 otherwise), and every command is audited (who, what, when).
/health is authenticated too, deliberately: the function is private (IAM invoker, internal
ingress), so a probe sends an ID token like any caller, and it answers only "ok". There is no
debug route.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from shared.executions.commands import cancel, submit
from shared.executions.state import STATES, ExecutionNotFound, ExecutionStore, IllegalTransition
from shared.runtime.auth import require_admin

log = logging.getLogger("sportsflow.executions.admin")

HEALTH_PATH = "/health"
HTTP_PATHS = ("/settlements", "/executions", "/executions/{id}", "/executions/{id}/cancel",
              HEALTH_PATH, "/ingestions")
_REQUIRED = {"/settlements": ("tournament_id", "match_id", "status_timestamp")}


def handle_admin_request(request, services=None):
    if services is None:
        from shared.runtime.entrypoints import process_services
        services = process_services()
    path = request.path.rstrip("/") or "/"
    if path == HEALTH_PATH:
        return _json(200, {"status": "ok"})
    caller = require_admin(request)
    request_id = request.headers.get("X-Request-Id") or None
    if request.method == "POST" and path == "/ingestions":
        return _submit_ingestion(services, request, caller, request_id)
    if request.method == "POST" and path in _REQUIRED:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or (missing := [k for k in _REQUIRED[path] if not body.get(k)]):
            needed = ", ".join(_REQUIRED[path])
            return _json(400, {"error": f"send a JSON object with {needed}"
                                        + (f" (missing: {', '.join(missing)})" if isinstance(body, dict) else "")})
        accepted = submit(services, job_type="settlement", entity_id=str(body["match_id"]), payload=body,
                          triggered_by=caller.identity, request_id=request_id, producer="executions_admin")
        return _json(202, accepted.body())
    parts = path.strip("/").split("/")
    executions = ExecutionStore(services.documents)
    try:
        if request.method == "GET" and parts == ["executions"]:
            status, job_type, limit = _list_arguments(request.args)
            listed = executions.list(status=status, job_type=job_type, limit=limit)
            return _json(200, {"executions": [e.as_dict() for e in listed]})
        if request.method == "GET" and len(parts) == 2 and parts[0] == "executions":
            return _json(200, show(executions, parts[1]))
        if request.method == "POST" and len(parts) == 3 and parts[0] == "executions" and parts[2] == "cancel":
            return _json(200, cancel(services, parts[1], who=caller.identity, request_id=request_id).as_dict())
    except ExecutionNotFound as missing:
        return _json(404, {"error": str(missing)})
    except IllegalTransition as refused:
        return _json(409, {"error": str(refused)})
    except ValueError as bad:
        return _json(400, {"error": str(bad)})
    return _json(405, {"error": f"{request.method} {request.path} is not a route of this function"})


def _submit_ingestion(services, request, caller, request_id):
    from pydantic import ValidationError

    from shared.ingestion.worker import IngestionRequest
    body = request.get_json(force=True, silent=True)
    try:
        command = IngestionRequest.model_validate(body)
    except ValidationError as bad:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in bad.errors())
        return _json(400, {"error": f"send a JSON object with operation (fixtures|results) and entity_id (the "
                                    f"tournament id), optionally snapshot_version and as_of ({problems})"})
    accepted = submit(services, job_type="ingestion", entity_id=command.entity_id,
                      payload=command.model_dump(mode="json", exclude_none=True), triggered_by=caller.identity,
                      request_id=request_id, producer="executions_admin")
    return _json(202, accepted.body())


def show(executions: ExecutionStore, execution_id: str) -> dict[str, Any]:
    return {**executions.get(execution_id).as_dict(),
            "steps": [{"seq": s.seq, "at": s.at.isoformat(), "name": s.name, "status": s.status,
                       "detail": s.detail} for s in executions.steps(execution_id)]}


def _list_arguments(args) -> tuple[str | None, str | None, int]:
    """GET /executions' filters, each checked: ValueError (400) saying what to send."""
    status, limit = args.get("status") or None, args.get("limit", "50")
    if status is not None and status not in STATES:
        raise ValueError(f"status must be one of {', '.join(STATES)}, not {status[:40]!r}")
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 500:
        raise ValueError(f"limit must be a whole number from 1 to 500, not {limit[:20]!r}")
    return status, args.get("job_type") or None, int(limit)


def _json(status: int, body: dict[str, Any]):
    import flask
    return flask.Response(json.dumps(body, default=str), status=status, mimetype="application/json")
