"""The validation functions' handlers (see the topology): thin translations to the use cases."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from shared.contracts.validation import GameFinal, ValidationDecided
from shared.runtime.context import FunctionContext
from shared.validation import records, system
from shared.validation.notifications import deliver_decision


def handle_game_final(message: GameFinal, ctx: FunctionContext) -> None:
    system.validator(ctx.services, ctx.publish).validate(message)


def handle_decision(message: ValidationDecided, ctx: FunctionContext) -> None:
    mark = f"{records.NOTIFICATIONS}/{message.decision_key}"
    if ctx.services.documents.get(mark) is not None:
        return  # delivered already (a redelivery)
    deliver_decision(message, ctx.services.settings)
    ctx.services.documents.create(mark, {"decision_key": message.decision_key, "outcome": message.outcome})


def monitor_http(request):
    """Cloud Scheduler: poll today's (or the body's) scoreboards; publish game-final."""
    from shared.runtime.entrypoints import process_services
    from shared.validation.runtime import monitor_for
    services = process_services()
    body = request.get_json(silent=True) or {}
    day = _day(body.get("date", "today"))
    with monitor_for(services, system.result_source_urls()) as monitor:
        report = monitor.poll(day)
    system.evidence_log(services).checkpoint()  # sign what this round appended
    return {"date": day.isoformat(), "announced": len(report.announced), "deferred": report.deferred,
            "source_problems": report.source_problems}, 200


def synthetic_http(request):
    """Cloud Scheduler, every 5 minutes: one synthetic game through the whole path."""
    from shared.runtime.entrypoints import process_services
    from shared.validation.synthetic import run_synthetic
    result = run_synthetic(process_services())
    return result.as_dict(), 200 if result.ok else 500


def _day(value: str) -> date:
    today = datetime.now(timezone.utc).date()
    return {"today": today, "yesterday": today - timedelta(days=1)}.get(value) or date.fromisoformat(value)
