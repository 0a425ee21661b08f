"""Run the pipeline for dates: scrape Phase 1, then let the deployed functions carry every
message through Phases 2–4, then report what each table holds for the date.

Embedded backend: the LocalBus delivers in virtual time (`drain`), deterministically for a
seed, and the document store measures leases on the same virtual clock. Emulator backend: the
same functions, the real Google clients, and a PullDispatcher in place of Pub/Sub push.
`--chaos SEED` injects duplicates, reordering, lost acks (failure after the effect, before the
ack) and transient handler failures on the bus, crashes at every crash point between two
effects (shared.runtime.crash_points), and 5xx/slow responses at the provider; then the
reconciler repairs what the crashes left — the report must not change.
"""
from __future__ import annotations

import logging
import random
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable, Iterator

from shared.adapters.local.warehouse import WarehouseInUse
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.codec import encode
from shared.contracts.envelope import Message, utc_now
from shared.orchestration.fan_in import FanInLedger
from shared.pipeline.home import HomeInUse, HomeLock, in_use
from shared.pipeline.processor import ensure_tables
from shared.pipeline.report import RunReport, table_results
from shared.pipeline.tables import pipeline_processors, pipeline_tables
from shared.predictions.coverage import coverage, top_predictions
from shared.runtime import crash_points
from shared.runtime.dead_letters import list_dead_letters
from shared.runtime.embedded import EmbeddedDeployment
from shared.runtime.errors import TransientError
from shared.runtime.pull_dispatcher import PullDispatcher

log = logging.getLogger("sportsflow.pipeline.runner")
Progress = Callable[[str], None]
CHAOS_TRANSIENT_FAILURE_RATE = 0.1
SCRAPE_ATTEMPTS = 3
EMULATOR_DELIVERY_TIMEOUT_S = 1800.0
EMULATOR_MAX_PULLERS = 8
# The registry first: Phase 2 resolves box-score names against it (any order works; this
# one avoids retries).
SCRAPE_ORDER = ("player_registry", "schedule", "team_boxscores", "player_boxscores", "prop_lines", "injury_report")


@dataclass(frozen=True)
class RunOptions:
    source: str = "synthetic"
    seed: int = 0
    chaos_seed: int | None = None


class Pipeline:
    """One deployment of the pipeline (services, functions, a provider), reused across dates."""

    def __init__(self, settings: Settings, options: RunOptions, progress: Progress | None = None):
        self.settings = settings
        self.options = options
        self._progress = progress or (lambda message: log.info(message))
        self._chaos_rng = random.Random(options.chaos_seed)
        self._injected_failures = 0
        self._home_lock = HomeLock(settings.home).acquire()
        try:
            self.services = Services.with_adapters(settings, **_embedded_adapters(settings, options))
        except BaseException as error:
            self._home_lock.release()
            if isinstance(error, WarehouseInUse) and not isinstance(error, HomeInUse):
                holder = re.search(r"PID \d+", str(error))  # e.g. `sportsflow serve`, which takes no home lock
                raise in_use(settings.home, holder.group(0) if holder else "another process") from None
            raise
        self._source = None
        self._source_pinned = False
        # SPORTSFLOW_KILL_AT=point[:nth] kills this very process there (tests restart it).
        self.crashes = crash_points.SeededCrashes(options.chaos_seed) if self._chaotic \
            else crash_points.KillAt.from_env()
        self.repairs: list = []
        self._server = None
        self._deployment: EmbeddedDeployment | None = None
        self._dispatcher: PullDispatcher | None = None

    # --- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> "Pipeline":
        from shared.providers.faults import ProviderFaults
        from shared.providers.server import ProviderServer, open_source
        from shared.resilience import DEFAULT_POLICY, ProviderClient, RateLimitPolicy

        try:
            self._source = open_source(self.source_spec)
            if hasattr(self._source, "check"):  # every file read before any scraper asks for one
                self._source.check()
            self._prepare_storage()
        except BaseException:
            self._close_without_server()
            raise
        faults = ProviderFaults.chaos(self.options.chaos_seed) if self._chaotic else None
        self._server = ProviderServer(self._source, faults=faults)
        # The provider runs on this machine: the production rate limit would only slow a backfill.
        policy = DEFAULT_POLICY.with_rate_limit(RateLimitPolicy(requests_per_second=10_000, burst=1_000))
        self._client = ProviderClient(f"provider-{uuid.uuid4().hex[:6]}", self._server.start(), policy=policy)
        self._deployment = EmbeddedDeployment(self.services, wrap=self._chaos_wrap if self._chaotic else None)
        self._deployment.deploy()
        if not hasattr(self.services.bus, "drain"):
            self._dispatcher = PullDispatcher(self.services.bus, self._deployment.routes,
                                              subscriptions=self.services.topology.subscriptions,
                                              threads=_pull_threads(self.services.topology))
        return self

    def __exit__(self, *exc) -> None:
        crash_points.install(None)
        if self._server:
            self._client.close()
            self._server.stop()
        try:
            self._flush_run_history()
        finally:
            self._close_without_server()

    def _close_without_server(self) -> None:
        try:
            self.services.close()
        finally:
            self._home_lock.release()

    @property
    def source_spec(self) -> str:
        """The source as `open_source` spells it, the seed included."""
        source = self.options.source
        if source == "synthetic" and self.options.seed:
            source = f"synthetic:{self.options.seed}"
        return source

    @property
    def _source_label(self) -> str:
        """What the rows say they came from: the kind of source, never a local path (the same
        files reached by another path are the same data, with the same data versions)."""
        return self.options.source.split(":", 1)[0]

    @property
    def _chaotic(self) -> bool:
        return self.options.chaos_seed is not None

    def _prepare_storage(self) -> None:
        ensure_tables(self.services, pipeline_processors(), extra=pipeline_tables())
        if self.settings.backend == "emulator":
            self.services.evidence.ensure_bucket()
            self.services.raw_payloads.ensure_bucket()
        else:  # this process now holds the warehouse's lock: a lease left running is a dead process's
            from shared.pipeline.run_history import break_dead_leases
            from shared.predictions.batches import BatchLedger
            documents = self.services.documents
            broken = break_dead_leases(documents) + BatchLedger(documents).break_dead_leases()
            if broken:
                log.warning("leases of a process that died were ended", extra={"fields": {"runs": broken}})
            self._flush_run_history()  # rows a process that died had staged

    def _flush_run_history(self) -> None:
        from shared.pipeline.run_history import batches_attempts, flush_attempts
        if batches_attempts(self.services.warehouse):
            flush_attempts(self.services.documents, self.services.warehouse)

    # --- one date ----------------------------------------------------------------------
    def redo(self, day: date, *, checksums: bool = True) -> RunReport:
        """Recompute the date from scratch: a new recompute request changes every run key of it."""
        from shared.pipeline.data_versions import request_recompute
        request_recompute(self.services.documents, day)
        return self.run_date(day, checksums=checksums)

    def run_date(self, day: date, *, checksums: bool = True) -> RunReport:
        started, since = time.monotonic(), utc_now()
        correlation_id = f"{day.isoformat()}-{uuid.uuid4().hex[:8]}"
        self._check_date(day)
        if not self._has_games(day):
            return self._no_games_report(day, since, started)
        self._release_if_switched_on(day)
        orphaned = self.settings.backend == "local" and self._unpublished_claims(day)
        if self.crashes is not None:
            crash_points.install(self.crashes)
        try:
            with self.delivering():
                self._scrape(day, correlation_id)
            with self.delivering():
                self._request_predictions_if_missing(day, correlation_id)
            if self._chaotic:
                self._reconcile_until_repaired(day)
            elif orphaned and not self.is_finished(day):
                self._heal_a_crashed_run(day)
        finally:
            if self.crashes is not None:
                crash_points.install(None)
        return self._report(day, since, started, checksums)

    def check_dates(self, days: Iterable[date]) -> None:
        """Before a backfill: the home's source is this one, and every date is in a season it knows."""
        for day in days:
            self._check_date(day)

    def _check_date(self, day: date) -> None:
        """The home's source is this one (recorded on first use) and knows `day` (OutOfSeason)."""
        from shared.pipeline.home import pin_source
        from shared.providers.seasons import check_in_season
        if not self._source_pinned:
            pin_source(self.services.documents, self.source_spec, self.settings.home)
            self._source_pinned = True
        check_in_season(self._source, day)

    def _has_games(self, day: date) -> bool:
        """Whether the provider's schedule for `day` lists a game (asked as the schedule scraper
        would, retries included); a date without games is recorded as such and runs nothing."""
        from shared.pipeline import no_games
        for attempt in range(1, SCRAPE_ATTEMPTS + 1):
            try:
                has_games = no_games.schedule_lists_games(self._client.get_json, day)
                break
            except Exception as err:
                if attempt == SCRAPE_ATTEMPTS or not _retryable(err):
                    raise
        if has_games:
            return True
        no_games.record(self.services.documents, day, self.source_spec)
        return False

    def _no_games_report(self, day: date, since, started: float) -> RunReport:
        report = self._report(day, since, started, checksums=False)
        report.no_games, report.finished, report.missing = True, True, []
        return report

    def _request_predictions_if_missing(self, day: date, correlation_id: str) -> None:
        """Phase 4 finished earlier (e.g. by a backfill with predictions off), so its completion
        will not come again: ask the coordinator as its scheduler backup would (/retry)."""
        from shared.pipeline.status import predictions_finished
        from shared.predictions.coordinator import retry
        from shared.predictions.repair import phase4_published

        documents = self.services.documents
        if not self.settings.predictions_enabled or predictions_finished(documents, day) \
                or not phase4_published(documents, day):
            return
        retry(self.services, day, publish=self._publisher(correlation_id, producer="phase5_coordinator"))

    def _release_if_switched_on(self, day: date) -> None:
        """Running a held date with the switch on is the user asking for Phase 3: release it."""
        from shared.orchestration.reconciler import release
        from shared.pipeline import holds
        if self.settings.phase3_trigger_enabled and holds.is_held(self.services.documents, day):
            with self.delivering():
                release(self.services, day)

    def recompute(self, day: date) -> RunReport:
        """Evaluate every orchestrator of `day` on its current inputs, in flow order, delivering
        after each: whatever is stale (a correction, an earlier date that changed) runs again."""
        from shared.orchestration.handlers import ORDER, orchestrator
        from shared.orchestration.reconciler import reconciler_for
        from shared.pipeline import run_history
        from shared.pipeline.status import stale_processors

        started, since = time.monotonic(), utc_now()
        reconciler = reconciler_for(self.services, producer="backfill")
        runs = run_history.runs_for(self.services.documents, day)
        with self.delivering():
            for name in stale_processors(self.services.documents, day):  # Phase 2: no orchestrator starts it
                trigger = run_history.stored_trigger(runs[name])
                if trigger and trigger[0] == "phase1-scrapers-complete":
                    reconciler.publish(*trigger)
        from shared.orchestration.rules import PHASE2_TO_PHASE3
        from shared.pipeline import holds
        held = holds.is_held(self.services.documents, day)
        for name in ORDER:
            if held and name == PHASE2_TO_PHASE3:
                continue  # the backfill switch holds this date: Phase 3 waits for `release`
            with self.delivering():
                orchestrator(name, self.services.documents).evaluate(
                    day, claimant=reconciler.claimant, publish=reconciler.publish, services=self.services)
        return self._report(day, since, started, checksums=False)

    def reconcile(self, days: list[date] | None = None):
        from shared.orchestration.reconciler import reconciler_for
        # Between deliveries nothing is in flight; on the embedded backend no other process can
        # hold this home's leases (DuckDB admits one process), so any lease left is a dead one.
        with self.delivering():
            report = reconciler_for(self.services, nothing_in_flight=self.settings.backend == "local").run(days)
        return report

    def _unpublished_claims(self, day: date) -> bool:
        return any(not claim["published"] for claim in FanInLedger(self.services.documents).claims(day))

    def _heal_a_crashed_run(self, day: date) -> None:
        """The date started this run with fan-in claims an earlier run of this home never published
        (it was killed between claim and publish) and is still unfinished after the deliveries.
        This process holds the home, so every lease that run left is a dead one: one reconciler
        pass repairs it now, as `sportsflow reconcile` would, so a plain re-run heals at every
        crash point."""
        report = self.reconcile([day])
        self.repairs += report.repairs

    def _reconcile_until_repaired(self, day: date, passes: int = 6) -> None:
        """After chaos: let every lease a crash left run out, then reconcile until the date has
        finished and a pass finds nothing left to repair."""
        from shared.orchestration.fan_in import PUBLISH_LEASE
        virtual = hasattr(self.services.bus, "clock") and hasattr(self.services.bus.clock, "advance")
        for _ in range(passes):
            if virtual:
                self.services.bus.clock.advance(PUBLISH_LEASE.total_seconds() * 2)
            else:
                self._wait_for_leases(day)
            report = self.reconcile([day])
            self.repairs += report.repairs
            if not report.repairs and self.is_finished(day):
                return
            if not report.repairs and not virtual:  # what is left was re-driven moments ago
                time.sleep(PUBLISH_LEASE.total_seconds() / 3)

    def _wait_for_leases(self, day: date, at_most_s: float = 120.0) -> None:
        """Real clocks (the emulators): wait until the leases crashes left for `day` have run out."""
        from shared.pipeline import run_history
        documents = self.services.documents
        ends = [run["lease_expires_at"] for run in run_history.runs_for(documents, day).values()
                if run.get("status") == "running" and run.get("lease_expires_at")]
        ends += [claim["lease_until"] for claim in FanInLedger(documents).claims(day)
                 if not claim["published"] and claim.get("lease_until")]
        if ends:
            wait = (max(ends) - documents.now()).total_seconds() + 1
            if wait > 0:
                self._progress(f"{day} waiting {wait:.0f} s for leases left by crashes to run out")
                time.sleep(min(wait, at_most_s))

    def _report(self, day: date, since, started: float, checksums: bool) -> RunReport:
        from shared.pipeline.status import date_status

        report = RunReport(analysis_date=day, backend=self.settings.backend, source=self.options.source,
                           chaos_seed=self.options.chaos_seed)
        report.tables = table_results(self.services.warehouse, pipeline_tables(), day, checksums=checksums)
        report.triggers = self.triggers(day)
        report.dead_letters = [_summary(letter) for letter in list_dead_letters(self.services.documents,
                                                                                since=since)]
        report.faults = self._fault_counts()
        state = date_status(self.services.documents, day, with_stale=checksums, with_dead_letters=False)
        report.finished, report.missing, report.stale = state.finished, _missing(state), state.stale
        report.predictions = coverage(self.services, day).as_json()
        if report.predictions["predicted"]:
            report.top_predictions = top_predictions(self.services.warehouse, day)
        if state.finished is False and not report.missing and not report.predictions["complete"] \
                and not report.predictions["switched_off"]:
            report.missing = [_predictions_missing(report.predictions)]
        report.empty_reasons = self._empty_reasons(day, report)
        report.duration_s = time.monotonic() - started
        return report

    def _empty_reasons(self, day: date, report: RunReport) -> dict[str, str]:
        """Empty raw tables whose source says why (e.g. no prop lines for that month)."""
        from shared.pipeline.phase2 import PROCESSORS as PHASE2
        reasons_of = getattr(self._source, "empty_reasons", None)
        if not callable(reasons_of):
            return {}
        empty = {t.table for t in report.tables if t.rows == 0}
        reasons = {}
        for scraper, reason in reasons_of(day).items():
            processor = PHASE2.get(scraper)
            if processor is not None and processor.output.qualified_name in empty:
                reasons[processor.output.qualified_name] = reason
        return reasons

    def is_finished(self, day: date) -> bool:
        from shared.pipeline.status import is_finished
        return is_finished(self.services.documents, day)

    def triggers(self, day: date) -> dict[str, int]:
        """Claims per orchestrator: one per trigger and input version."""
        counts: dict[str, int] = {}
        for claim in FanInLedger(self.services.documents).claims(day):
            counts[claim["orchestrator"]] = counts.get(claim["orchestrator"], 0) + 1
        return counts

    # --- phases --------------------------------------------------------------------------
    def _scrape(self, day: date, correlation_id: str) -> None:
        from shared.pipeline.phase1 import run_scraper

        for scraper in SCRAPE_ORDER:
            self._progress(f"{day} scraping {scraper}")
            for attempt in range(1, SCRAPE_ATTEMPTS + 1):
                try:
                    run_scraper(scraper, day, services=self.services, client=self._client,
                                publish=self._publisher(correlation_id, producer="phase1_scrapers"),
                                source_label=self._source_label)
                    break
                except Exception as err:  # the scheduler job's retry, in process
                    if attempt == SCRAPE_ATTEMPTS or not _retryable(err):
                        raise
                    log.warning("scrape failed; retrying", extra={"fields": {"scraper": scraper, "error": str(err)}})

    def _publisher(self, correlation_id: str, *, producer: str) -> Callable[[str, Message], str]:
        def publish(topic: str, message: Message) -> str:
            encoded = encode(message, run_id=uuid.uuid4().hex, correlation_id=correlation_id,
                             producer=producer)
            return self.services.bus.publish(topic, encoded.data, encoded.attributes)
        return publish

    @contextmanager
    def delivering(self) -> Iterator[None]:
        """Whatever is published inside is delivered on exit, until nothing is outstanding."""
        if self._dispatcher is not None:
            self._dispatcher.start_tracking()
        yield
        self._deliver()

    def _deliver(self) -> None:
        bus = self.services.bus
        if hasattr(bus, "drain"):
            summary = bus.drain(max_seconds=7 * 24 * 3600)  # virtual time: every backoff fits
            if summary.pending:
                raise RuntimeError(f"{summary.pending} messages still pending after draining the bus")
        else:  # no unacked or backlogged message left, not merely a quiet spell
            self._dispatcher.run_until_quiescent(timeout=EMULATOR_DELIVERY_TIMEOUT_S)
        self._flush_run_history()

    # --- chaos ----------------------------------------------------------------------------
    def _chaos_wrap(self, name: str, handler):
        def flaky(message, ctx):
            if self._chaos_rng.random() < CHAOS_TRANSIENT_FAILURE_RATE:
                self._injected_failures += 1
                raise TransientError(f"chaos: injected transient failure in {name}")
            return handler(message, ctx)
        return flaky

    def _fault_counts(self) -> dict[str, int]:
        if not self._chaotic:
            return {}
        counts = dict(vars(self.services.bus.faults.counts)) if self.settings.backend == "local" else {}
        counts["transient_handler_failures"] = self._injected_failures
        counts.update({f"crash_{point}": n for point, n in sorted(self.crashes.counts.items())})
        counts.update({f"repaired_{r.kind}": sum(x.kind == r.kind for x in self.repairs) for r in self.repairs})
        counts.update({f"provider_{k}": v for k, v in self._server.fault_counts().items()})
        return counts


def _embedded_adapters(settings: Settings, options: RunOptions) -> dict:
    """The embedded bus (with the chaos plan) and a document store on the bus's clock, so a
    crashed run's lease runs out in the same virtual time the bus redelivers in."""
    if settings.backend != "local":
        return {}
    from shared.adapters.local.bus import LocalBus
    from shared.adapters.local.bus_faults import FaultPlan
    from shared.adapters.local.documents import SqliteDocumentStore

    faults = FaultPlan.chaos(options.chaos_seed) if options.chaos_seed is not None else None
    bus = LocalBus(faults=faults)
    settings.home.mkdir(parents=True, exist_ok=True)
    documents = SqliteDocumentStore(settings.home / "documents.sqlite",
                                    clock=lambda: bus.clock.wall_time(bus.clock.now()))
    return {"bus": bus, "documents": documents}


def _pull_threads(topology) -> dict[str, int]:
    """One puller per ten instances a function may scale to (the prediction worker: 100 → 8, the
    cap on a laptop), so a scaled-out function is delivered to concurrently as in production."""
    threads = {}
    for subscription in topology.subscriptions:
        if subscription.push_function:
            instances = topology.function(subscription.push_function).max_instances
            threads[subscription.name] = min(max(1, instances // 10), EMULATOR_MAX_PULLERS)
    return threads


def _missing(state) -> list[str]:
    """What keeps a date from finishing, in words (empty when it finished)."""
    if state.finished:
        return []
    missing = [f"phase {p.phase} {p.name}: {', '.join(p.missing)}" for p in state.phases if p.missing]
    missing += [f"{t.target}: claimed, not published" for t in state.triggers if t.claimed_at and not t.published]
    if state.held:
        missing.append(f"held by the backfill switch (release with `{state.held}`)")
    return missing or ["the Phase 4 completion for the current version was not published"]


def _predictions_missing(coverage: dict) -> str:
    if coverage["batch_id"] is None:
        return "phase 5 predictions: not requested"
    missing = ", ".join(f"{reason}: {len(players)}" for reason, players in coverage["missing"].items())
    return f"phase 5 predictions: {coverage['predicted']} of {coverage['requested']} predicted ({missing})"


def _retryable(err: Exception) -> bool:
    from shared.resilience import ProviderUnavailable
    return isinstance(err, ProviderUnavailable)


def _summary(letter: dict) -> dict:
    summary = {k: letter.get(k) for k in ("source_topic", "function", "error_kind", "error_field", "reason")}
    summary["redriven"] = bool(letter.get("redriven_at"))  # published again by the reconciler
    return summary


def run_dates(settings: Settings, options: RunOptions, days: Iterable[date], *,
              progress: Progress | None = None) -> list[RunReport]:
    """Each date's report, from one pipeline deployment."""
    with Pipeline(settings, options, progress) as pipeline:
        return [pipeline.run_date(day) for day in days]
