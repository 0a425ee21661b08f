"""What each console page shows, read from stored state through the subsystems' own read functions.

Nothing here computes a result the subsystems do not store: a page is a view of the documents the
pipeline, predictions, validation, live and settlement code wrote. Each function returns plain
dicts and lists for a template.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from shared.orchestration.fan_in import FanInLedger
from shared.pipeline.no_games import no_games_on
from shared.pipeline.status import date_status, date_statuses

if TYPE_CHECKING:
    from shared.bootstrap import Services

PAGE_SIZE = 100
SYSTEMS = ("rolling_average", "pace_adjusted", "similar_players", "gradient_boosted", "ensemble")


# --- pipeline -------------------------------------------------------------------------------------

DATES_PER_PAGE = 7
CHART_SAMPLE = 5_000  # points a percentile chart reads at most (an even sample of its window)


def known_dates(services: "Services") -> list[date]:
    """Every date the fan-in ledger knows, newest first."""
    return sorted(FanInLedger(services.documents).dates(), reverse=True)


def date_page(services: "Services", page: int) -> tuple[list[date], int]:
    days = known_dates(services)
    pages = max(1, -(-len(days) // DATES_PER_PAGE))
    return days[(page - 1) * DATES_PER_PAGE:page * DATES_PER_PAGE], pages


def pipeline_dates(services: "Services", days: list[date]) -> list[dict[str, Any]]:
    """Each date's state in brief (staleness is on the date's own page: it reads every input version)."""
    rows = []
    for day, status in zip(days, date_statuses(services.documents, days, with_stale=False, with_dead_letters=False)):
        done = sum(len(p.done) for p in status.phases)
        total = done + sum(len(p.missing) for p in status.phases)
        rows.append({"date": day.isoformat(), "finished": status.finished, "held": status.held,
                     "no_games": no_games_on(services.documents, day) is not None,
                     "done": done, "total": total, "failed": sum(len(p.failed) for p in status.phases),
                     "waiting": [t.target for t in status.triggers if t.missing and not t.published]})
    return rows


def pipeline_date(services: "Services", day: date) -> dict[str, Any]:
    return {**date_status(services.documents, day).as_json(), "no_games": no_games_on(services.documents, day)}


def reconciler_repairs(services: "Services", limit: int = 50) -> dict[str, Any]:
    """The reconciler's passes that repaired something or gave up, from its log lines: it stores no
    report of its own. Locally they are in the home's log file; on gcp in Cloud Logging."""
    if services.settings.backend == "gcp":
        return {"source": "Cloud Logging: jsonPayload.message=\"reconciled\" (function reconciler)", "passes": []}
    path = services.settings.home / "logs" / "sportsflow.jsonl"
    passes: list[dict[str, Any]] = []
    if path.exists():
        for line in _tail(path, LOG_TAIL_BYTES).splitlines():
            if '"reconcile' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            message = entry.get("message")
            if (message == "reconciled" and entry.get("repaired")) or message == "reconciler gave up":
                passes.append(entry)
    return {"source": str(path), "passes": passes[-limit:][::-1]}


def dead_letters_by_function(services: "Services", days: int = 7) -> dict[str, int]:
    """Dead letters recorded in the last `days`, counted by the function that gave up."""
    from datetime import timedelta

    from shared.runtime.dead_letters import list_dead_letters

    since = services.documents.now() - timedelta(days=days)
    return dict(Counter(letter.get("function") or letter.get("source_topic") or "?"
                        for letter in list_dead_letters(services.documents, since=since)).most_common())


LOG_TAIL_BYTES = 4 * 1024 * 1024


def _tail(path, size: int) -> str:
    """The last `size` bytes of a log file (it grows without bound; recent passes are at its end)."""
    with path.open("rb") as file:
        file.seek(0, 2)
        file.seek(max(0, file.tell() - size))
        return file.read().decode("utf-8", errors="replace")


# --- predictions ----------------------------------------------------------------------------------

def coverage_by_date(services: "Services", days: list[date]) -> list[dict[str, Any]]:
    """The predictions API's stored coverage of each date (requested, predicted, complete)."""
    from shared.predictions import api

    cache = api.process_cache(services.documents)
    rows = []
    for day in days:
        status, body, _ = api.coverage(services.documents, cache, {"date": day.isoformat()})
        if status == 200:
            rows.append(json.loads(body))
    return rows


def coverage_of_date(services: "Services", day: date) -> dict[str, Any]:
    """One date: what is missing and why (shared.predictions.coverage), and players per system."""
    from shared.ports.warehouse import WarehouseError
    from shared.predictions import projection
    from shared.predictions.coverage import coverage

    try:
        report = coverage(services, day)
    except WarehouseError as missing:  # no Phase 3 tables yet: nothing expected can be named
        return {"date": day.isoformat(), "error": f"the expected players of {day} cannot be read yet ({missing}); "
                                                  f"Phase 3 has not loaded the date: see /pipeline?date={day}"}
    per_system: Counter[str] = Counter()
    for document in projection.read_date(services.documents, day):
        per_system.update({s for market in document.get("markets", {}).values() for s in market})
    return {**report.as_json(), "systems": {s: per_system.get(s, 0) for s in SYSTEMS}}


# --- validation -----------------------------------------------------------------------------------

VALIDATION_FILTERS = ("game_id", "team", "promotion_id", "outcome")


def validations(services: "Services", filters: dict[str, str], after: str = "") -> dict[str, Any]:
    """A page of decisions matching `filters`, in decision-key order, starting after the key `after`
    (keyset paging: page 50 costs what page 1 costs)."""
    from shared.validation import records

    conditions = [(name, "==", value) for name, value in filters.items() if value]
    documents = services.documents
    paged = conditions + ([("decision_key", ">", after)] if after else [])
    found = [d.data for d in documents.query(records.DECISIONS, paged, order_by="decision_key" if after else None,
                                             limit=PAGE_SIZE + 1)]
    more = len(found) > PAGE_SIZE
    if not conditions:
        total = documents.count(records.DECISIONS)  # the collection's size: no scan
    elif not more and not after:
        total = len(found)
    else:
        total = documents.count(records.DECISIONS, conditions)
    rows = found[:PAGE_SIZE]
    return {"rows": rows, "total": total, "after": after, "next": rows[-1]["decision_key"] if more else None}


def validation_record(services: "Services", decision_key: str) -> dict[str, Any] | None:
    """One decision with its evidence trail: the decision's evidence record, every human action on
    it and the latest signed checkpoint (the inclusion proof has its own page: see inclusion_proof)."""
    from shared.validation import records, system
    from shared.validation.review import ReviewQueue

    decision = services.documents.get(f"{records.DECISIONS}/{decision_key}")
    if decision is None:
        return None
    log = system.evidence_log(services, signing=False)
    queue = ReviewQueue(services.documents, services.evidence, log)
    evidence = json.loads(services.evidence.get(decision.data["evidence_key"]))
    latest = log.latest_checkpoint_note()
    review = services.documents.get(f"{records.REVIEWS}/{decision_key}")
    return {"decision": decision.data, "evidence": evidence, "overrides": queue.overrides(decision_key),
            "effective": queue.effective(decision_key),
            "checkpoint": {"size": latest[0], "note": latest[1]} if latest else None,
            "review": review.data if review else None}


_PROOFS: dict[tuple[str, int], dict[str, Any]] = {}
_PROOFS_KEPT = 256


def inclusion_proof(services: "Services", evidence_key: str) -> dict[str, Any]:
    """The record's inclusion proof against the latest checkpoint (shared.evidence_log.proof).

    Building one reads every leaf of the log, so the proofs are kept per (record, checkpoint size):
    the log is append-only, so a proof against a given checkpoint never changes."""
    from shared.evidence_log.proof import RecordNotLogged, inclusion_bundle
    from shared.validation import system

    log = system.evidence_log(services, signing=False)
    latest = log.latest_checkpoint_note()
    memo = (evidence_key, latest[0] if latest else 0)
    if memo not in _PROOFS:
        try:
            _PROOFS[memo] = {"bundle": inclusion_bundle(log, evidence_key), "error": None}
        except RecordNotLogged as missing:
            return {"bundle": None, "error": str(missing)}
        while len(_PROOFS) > _PROOFS_KEPT:
            _PROOFS.pop(next(iter(_PROOFS)))
    return _PROOFS[memo]


def review_queue(services: "Services", status: str) -> list[dict[str, Any]]:
    from shared.validation import system
    from shared.validation.review import ReviewQueue

    return ReviewQueue(services.documents, services.evidence, system.evidence_log(services, signing=False)).list(status)


def decide_review(services: "Services", decision_key: str, outcome: str, reason: str, actor: str) -> dict[str, Any]:
    """A person's override through the review queue: itself an evidence record appended to the log."""
    from shared.validation import system
    from shared.validation.review import ReviewQueue

    queue = ReviewQueue(services.documents, services.evidence, system.evidence_log(services, signing=False))
    return queue.decide(decision_key, outcome, reason=reason, actor=actor)


# --- live, executions, leaderboards ---------------------------------------------------------------

def live_matches(services: "Services", day: str | None) -> dict[str, Any]:
    from shared.live.read_api import diary_matches
    from shared.live.read_api import live_matches as current
    from shared.live.store import MatchStore

    store = MatchStore(services.documents)
    matches = diary_matches(store, day) if day else current(store)
    return {"matches": matches, "now": store.now(), "day": day}


def executions(services: "Services", status: str | None, job_type: str | None) -> list[dict[str, Any]]:
    from shared.executions.state import ExecutionStore

    return [e.as_dict() for e in ExecutionStore(services.documents).list(status=status or None,
                                                                          job_type=job_type or None, limit=100)]


def leaderboards(services: "Services") -> list[str]:
    from shared.tournaments.leaderboard import LEADERBOARDS

    return sorted(doc.id for doc in services.documents.query(LEADERBOARDS))


def leaderboard_page(services: "Services", board_id: str, page: int) -> dict[str, Any]:
    from shared.tournaments.leaderboard import LEADERBOARDS, Board, Leaderboards

    head = services.documents.get(f"{LEADERBOARDS}/{board_id}")
    if head is None:
        raise LookupError(f"no leaderboard {board_id!r}")
    data = head.data
    board = Board(data.get("tournament_id") or board_id.removeprefix("tournament__"), data.get("league_id"))
    return Leaderboards(services.documents).read(board, page=page).as_dict()


def page_latency(services: "Services") -> list[tuple[str, float]]:
    """The console's own median render time per page over the last hour, from the metrics store
    (embedded backend; on gcp the same points are in Cloud Monitoring)."""
    from datetime import datetime, timedelta, timezone
    from statistics import median

    from shared.metrics.recorder import ANY_VALUE, process_metrics, stores_points

    if not stores_points(services.settings):
        return []
    now = datetime.now(timezone.utc)  # the metrics store's clock
    by_page: dict[str, list[float]] = {}
    # the console's page renders (labelled with their page), not its HttpFunction invocations
    for point in process_metrics(services.settings).points("function_latency_ms", now - timedelta(hours=1), now,
                                                           where={"page": ANY_VALUE}):
        by_page.setdefault(point.labels["page"], []).append(point.value)
    return sorted(((page, round(median(values), 1)) for page, values in by_page.items()), key=lambda kv: -kv[1])


def pipeline_latency(services: "Services", *, hours: int = 24, bucket_minutes: int = 15
                     ) -> dict[str, list[tuple[str, float]]]:
    """p50 and p95 latency (ms) of the pipeline's Pub/Sub function invocations per time bucket, from
    the stored `function_latency_ms` points (embedded backend; on gcp the `sportsflow/function_latency`
    distribution in Cloud Monitoring)."""
    from datetime import datetime, timedelta, timezone
    from statistics import quantiles

    from shared.metrics.recorder import INVOCATION, process_metrics, stores_points

    if not stores_points(services.settings):
        return {}
    now = datetime.now(timezone.utc)  # the metrics store's clock
    buckets: dict[datetime, list[float]] = {}
    for point in process_metrics(services.settings).points(INVOCATION, now - timedelta(hours=hours), now,
                                                           where={"trigger": "pubsub"}, at_most=CHART_SAMPLE):
        at = point.at.replace(second=0, microsecond=0)
        at -= timedelta(minutes=at.minute % bucket_minutes)
        buckets.setdefault(at, []).append(point.value)
    series: dict[str, list[tuple[str, float]]] = {"p50": [], "p95": []}
    for at, values in sorted(buckets.items()):
        cuts = quantiles(values, n=20, method="inclusive") if len(values) > 1 else values * 19
        label = at.strftime("%m-%d %H:%M")
        series["p50"].append((label, round(cuts[9], 1)))
        series["p95"].append((label, round(cuts[18], 1)))
    return series if series["p50"] else {}


# --- the platform's metric points over time (shared/metrics: retry, dead_letter, breaker_state, ...) --

Series = dict[str, list[tuple[str, float]]]
MOST_SERIES = 5  # a chart stays readable: the busiest five, the rest summed as "other"


def metric_over_time(services: "Services", name: str, *, by: str, hours: int = 24, bucket_minutes: int = 60,
                     combine: str = "sum", carry: bool = False, start_of=None) -> Series:
    """Points of `name` per time bucket, one series per value of the label `by` (embedded and emulator
    backends: the home's metrics store; on gcp these are in Cloud Monitoring and this is empty).

    combine: "sum" (events: dead letters, retries) or "last" (gauges: backlog, breaker state);
    carry: a bucket without points keeps the previous bucket's value (a state holds until it changes),
    else it is 0; start_of(first point): the value before a series' first point (default 0)."""
    from datetime import datetime, timezone

    from shared.metrics.recorder import process_metrics, stores_points

    if not stores_points(services.settings):
        return {}
    now = datetime.now(timezone.utc)  # the metrics store's clock
    found = process_metrics(services.settings).points(name, now - timedelta(hours=hours), now)
    if not found:
        return {}
    step = timedelta(minutes=bucket_minutes)
    first = _bucket_of(found[0].at, bucket_minutes)
    buckets = [first + i * step for i in range(int((now - first) / step) + 1)]
    values: dict[str, dict[datetime, float]] = {}
    starts: dict[str, float] = {}
    for point in found:
        key = str(point.labels.get(by, "?"))
        cell = values.setdefault(key, {})
        at = _bucket_of(point.at, bucket_minutes)
        cell[at] = cell.get(at, 0.0) + point.value if combine == "sum" else point.value
        if key not in starts:
            starts[key] = start_of(point) if start_of else 0.0
    series = {key: _filled(buckets, cells, carry, starts[key]) for key, cells in values.items()}
    return _busiest(series)


def _bucket_of(at, bucket_minutes: int):
    at = at.replace(second=0, microsecond=0)
    minutes = at.hour * 60 + at.minute
    return at.replace(hour=0, minute=0) + timedelta(minutes=minutes - minutes % bucket_minutes)


def _filled(buckets, cells, carry: bool, start: float) -> list[tuple[str, float]]:
    rows, last = [], start
    for at in buckets:
        value = cells.get(at, last if carry else 0.0)
        last = value
        rows.append((at.strftime("%m-%d %H:%M"), round(value, 3)))
    return rows


def _busiest(series: Series) -> Series:
    if len(series) <= MOST_SERIES:
        return dict(sorted(series.items()))
    ranked = sorted(series, key=lambda key: -max(value for _, value in series[key]))
    kept = {key: series[key] for key in ranked[:MOST_SERIES - 1]}
    rest = [series[key] for key in ranked[MOST_SERIES - 1:]]
    kept["other"] = [(label, round(sum(s[i][1] for s in rest), 3)) for i, (label, _) in enumerate(rest[0])]
    return kept


def fan_in_progress(services: "Services", days: list[date]) -> list[tuple[str, float]]:
    """The latest recorded progress (completed / expected) of each orchestrator's fan-in for `days`,
    from the `fan_in_progress` points of the last week (the ledger itself is on the date's page)."""
    from datetime import datetime, timezone

    from shared.metrics.recorder import process_metrics, stores_points

    if not stores_points(services.settings) or not days:
        return []
    wanted = {day.isoformat() for day in days}
    now = datetime.now(timezone.utc)
    latest: dict[tuple[str, str], float] = {}
    for point in process_metrics(services.settings).points("fan_in_progress", now - timedelta(days=7), now):
        day, expected = point.labels.get("analysis_date"), point.labels.get("expected") or 0
        if day in wanted and expected:
            latest[(day, _phase_of(point.labels.get("orchestrator", "?")))] = point.value / expected
    return [(f"{day} {phase}", ratio) for (day, phase), ratio in sorted(latest.items(), reverse=True)]


def breaker_states(services: "Services") -> Series:
    """Each provider's breaker state per 15 minutes over the last 24 h (0 closed, 1 half-open, 2 open):
    a state holds until its next transition."""
    from shared.metrics.breakers import BREAKER_STATE, STATE_VALUES
    from shared.resilience.circuit_breaker import BreakerState

    def before(point) -> float:
        return STATE_VALUES.get(BreakerState(point.labels.get("from_state", "closed")), 0.0)

    return metric_over_time(services, BREAKER_STATE, by="provider", bucket_minutes=15, combine="last", carry=True,
                            start_of=before)


def _phase_of(orchestrator: str) -> str:
    return {"phase2_to_phase3_orchestrator": "Phase 2→3", "phase3_to_phase4_orchestrator": "Phase 3→4",
            "phase4_orchestrator": "Phase 4"}.get(orchestrator, orchestrator)


def health(services: "Services") -> dict[str, Any]:
    from shared.health import check_health

    report = check_health(services)
    return {**report.as_json(), "ok": report.ok, "rows": [asdict(d) for d in report.dependencies]}
