"""What the live HTTP functions share: JSON responses, the request body, the process's services."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import flask

    from shared.bootstrap import Services


def json_response(status: int, body: Any) -> "flask.Response":
    import flask
    return flask.Response(json.dumps(body), status=status, mimetype="application/json")


def request_body(request: "flask.Request") -> dict[str, Any]:
    """The JSON object of a POST (Cloud Scheduler), else the query arguments; {} when neither."""
    if request.get_data(cache=True):
        body = request.get_json(force=True, silent=True)
        return body if isinstance(body, dict) else {}
    return request.args.to_dict(flat=True)


def services_or_process(services: "Services | None") -> "Services":
    if services is not None:
        return services
    from shared.runtime.entrypoints import process_services
    return process_services()
