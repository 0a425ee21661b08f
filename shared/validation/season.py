"""`sportsflow validate --season 2024 --source replay:PATH`: the whole season through the real path.

For every date of the game log, in order: the monitor polls both replay sources (HTTP, through the
resilience layer), announces each final game on the embedded bus, and the deployed
`outcome_validation` function validates it (evidence, log, decision, review, event). Then the
log is checkpointed and the summary says what was decided, how fast, and whether every decision
agrees with the game log.

`--chaos SEED` adds bus faults (duplicates, reordering, lost acks), transient handler failures,
crashes at the validation's and the monitor's crash points (a crashed monitor is restarted and
re-drives what it recorded) and transport faults on both sources. `disagree_rate` makes ESPN
report wrong scores for a seeded share of games; `corrections` serves that many games first with a
wrong score and then, after the season, the corrected one (late corrections).
"""
from __future__ import annotations

import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.validation import GameFinal
from shared.providers.faults import ProviderFaults
from shared.resilience.policy import DEFAULT_POLICY, RateLimitPolicy
from shared.runtime import crash_points
from shared.runtime.embedded import EmbeddedDeployment
from shared.runtime.errors import TransientError
from shared.validation import records, system
from shared.validation.gamelog import game_log_file, games_by_date, read_game_log
from shared.validation.games import GameFacts
from shared.validation.replay import DataFaults, ReplayResultServers
from shared.validation.runtime import bus_publisher, monitor_for

VALIDATION_FUNCTIONS = ("outcome_validation", "validation_notifier")
CHAOS_TRANSIENT_FAILURE_RATE = 0.05
MAX_POLL_ROUNDS = 4
Progress = Callable[[int, int, date], None]


@dataclass
class SeasonOptions:
    season: int
    source_path: Path
    chaos_seed: int | None = None
    disagree_rate: float = 0.0
    missing_inning_rate: float = 0.0
    corrections: int = 0
    fault_seed: int = 0
    mlb_outage_dates: tuple[date, ...] = ()
    limit_dates: int | None = None


@dataclass
class SeasonSummary:
    season: int
    games: int
    decisions: dict[str, int]
    latest_decisions: dict[str, int]
    agrees_with_game_log: bool
    wrong_decisions: list[str]
    promotions_met: dict[str, int]
    latency_ms: dict[str, float]  # of this run's validations (a re-run that finds nothing new has none)
    evidence_records: int
    checkpoint: dict | None
    wall_seconds: float
    reviews_open: int
    corrected_games: list[str] = field(default_factory=list)
    revalidated: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(vars(self))


class SeasonRun:
    def __init__(self, settings: Settings, options: SeasonOptions) -> None:
        self.settings = settings
        self.options = options
        self.games = read_game_log(game_log_file(options.source_path, options.season))
        if options.limit_dates:
            keep = sorted({g.game_date for g in self.games})[:options.limit_dates]
            self.games = [g for g in self.games if g.game_date in set(keep)]
        self.truth = {g.game_id: g for g in self.games}
        self._rng = random.Random(f"validation-chaos-{options.chaos_seed}")
        self.injected = Counter()
        self.services = Services.with_adapters(settings, **_embedded_adapters(settings, options.chaos_seed))
        self.data_faults = self._data_faults()
        self.servers = ReplayResultServers(self.games, transport_faults=self._transport_faults(),
                                           data_faults=self.data_faults)
        self.crashes = crash_points.SeededCrashes(options.chaos_seed, probability=0.02) \
            if options.chaos_seed is not None else crash_points.KillAt.from_env()
        self.deployment = EmbeddedDeployment(self.services, wrap=self._chaos_wrap if self._chaotic else None)

    @property
    def _chaotic(self) -> bool:
        return self.options.chaos_seed is not None

    def __enter__(self) -> "SeasonRun":
        self.urls = self.servers.start()
        self.deployment.deploy()
        crash_points.install(self.crashes)
        return self

    def __exit__(self, *exc) -> None:
        crash_points.install(None)
        self.servers.stop()
        self.services.close()

    # --- running ------------------------------------------------------------------------------
    def run(self, progress: Progress | None = None) -> SeasonSummary:
        started = time.perf_counter()
        since = self.services.documents.now()
        days = games_by_date(self.games)
        for number, day in enumerate(days, start=1):
            self.poll_until_done(day)
            if progress:
                progress(number, len(days), day)
        revalidated: list[str] = []
        if self.data_faults["espn"].corrected:
            before = self._decision_keys()
            self.servers.apply_corrections()
            for day in sorted({self.truth[g].game_date for g in self.data_faults["espn"].corrected}):
                self.poll_until_done(day)
            revalidated = sorted(self._decision_keys() - before)
        system.evidence_log(self.services).checkpoint()
        return self.summary(since, time.perf_counter() - started, revalidated)

    def poll_until_done(self, day: date) -> None:
        """Poll `day` until no source failed (or the monitor gave up waiting), restarting a crashed monitor."""
        for _ in range(MAX_POLL_ROUNDS * 3):
            try:
                with self._monitor() as monitor:
                    if day in self.options.mlb_outage_dates:
                        self.servers.servers["mlb"].faults.start_outage()
                    report = monitor.poll(day)
            except crash_points.SimulatedCrash:
                self.injected["monitor_restarts"] += 1
                self._deliver()
                continue  # the process died: a new one starts, re-drives what was recorded, polls again
            finally:
                if day in self.options.mlb_outage_dates:
                    self.servers.servers["mlb"].faults.end_outage()
            self._deliver()
            if not report.deferred:
                return
        raise RuntimeError(f"{day}: the monitor did not finish polling after {MAX_POLL_ROUNDS * 3} rounds")

    def _monitor(self):
        # The sources run on this machine: the production rate limit would only slow the season.
        policy = DEFAULT_POLICY.with_rate_limit(RateLimitPolicy(requests_per_second=10_000, burst=1_000))
        if self._chaotic:
            policy = policy.with_timeout(2.0)
        return monitor_for(self.services, self.urls, policy=policy,
                           publish=bus_publisher(self.services, "validation_monitor"),
                           client_prefix=f"season-{self._client_id}")

    @property
    def _client_id(self) -> str:
        if not hasattr(self, "_id"):
            self._id = uuid.uuid4().hex[:8]
        return self._id

    def _deliver(self) -> None:
        summary = self.services.bus.drain(max_seconds=7 * 24 * 3600)
        if summary.pending:
            raise RuntimeError(f"{summary.pending} messages still pending after draining the bus")

    def _chaos_wrap(self, name: str, handler):
        def flaky(message, ctx):
            if self._rng.random() < CHAOS_TRANSIENT_FAILURE_RATE:
                self.injected["transient_handler_failures"] += 1
                raise TransientError(f"chaos: injected transient failure in {name}")
            return handler(message, ctx)
        return flaky

    # --- faults -------------------------------------------------------------------------------
    def _data_faults(self) -> dict[str, DataFaults]:
        ids = sorted(self.truth)
        espn = DataFaults.seeded(self.options.fault_seed, ids, wrong_score_rate=self.options.disagree_rate,
                                 missing_inning_rate=self.options.missing_inning_rate)
        corrected = set(random.Random(f"corrections-{self.options.fault_seed}").sample(ids, self.options.corrections))
        espn.corrected = set(corrected)
        return {"espn": espn, "mlb": DataFaults(corrected=set(corrected))}

    def _transport_faults(self) -> dict[str, ProviderFaults]:
        faults = {"espn": ProviderFaults(0), "mlb": ProviderFaults(1)}
        if self._chaotic:
            seed = self.options.chaos_seed
            faults = {"espn": ProviderFaults(seed, error_rate=0.05, slow_rate=0.03, slow_seconds=0.05),
                      "mlb": ProviderFaults(seed + 1, error_rate=0.05, slow_rate=0.03, slow_seconds=0.05)}
        return faults

    # --- summary ------------------------------------------------------------------------------
    def _decision_keys(self) -> set[str]:
        return {doc.id for doc in self.services.documents.query(records.DECISIONS)}

    def summary(self, since, wall_seconds: float, revalidated: list[str]) -> SeasonSummary:
        documents = self.services.documents
        decisions = [doc.data for doc in documents.query(records.DECISIONS) if not doc.data.get("synthetic")]
        latest: dict[tuple[str, str], dict] = {}
        for decision in decisions:
            slot = (decision["game_id"], decision["promotion_id"])
            if slot not in latest or latest[slot]["game_version"] < decision["game_version"]:
                latest[slot] = decision
        catalogue = system.catalogue()
        wrong = []
        met = Counter()
        for decision in latest.values():
            if decision["outcome"] == "review":
                continue
            truth = catalogue.by_id(decision["promotion_id"]).is_met(self.truth[decision["game_id"]])
            if truth != (decision["outcome"] == "met"):
                wrong.append(decision["decision_key"])
            if decision["outcome"] == "met":
                met[_promotion_kind(decision["promotion_id"])] += 1
        durations = sorted(m.data["duration_ms"] for m in documents.query(records.METRICS,
                                                                          [("finished_at", ">=", since)])
                           if not m.data.get("synthetic"))  # this run's validations only
        latest_cp = system.evidence_log(self.services, signing=False).latest_checkpoint_note()
        checkpoint = None
        if latest_cp:
            from shared.evidence_log.checkpoint import parse_body
            body = parse_body(latest_cp[1].split("\n\n")[0] + "\n")
            checkpoint = {"size": body.size, "root": body.root.hex(), "note": latest_cp[1]}
        faults = dict(self.injected)
        if self._chaotic:
            faults.update({f"bus_{k}": v for k, v in vars(self.services.bus.faults.counts).items()})
            faults.update({f"crash_{k}": v for k, v in self.crashes.counts.items()})
        faults.update({f"source_{k}": v for k, v in self.servers.fault_counts().items()})
        return SeasonSummary(
            season=self.options.season, games=len(self.games),
            decisions=dict(Counter(d["outcome"] for d in decisions)),
            latest_decisions=dict(Counter(d["outcome"] for d in latest.values())),
            agrees_with_game_log=not wrong, wrong_decisions=sorted(wrong)[:20],
            promotions_met=dict(sorted(met.items())),
            latency_ms=_percentiles(durations),
            evidence_records=system.evidence_log(self.services, signing=False).size(),
            checkpoint=checkpoint, wall_seconds=round(wall_seconds, 2),
            reviews_open=documents.count(records.REVIEWS, [("status", "==", "open")]),
            corrected_games=sorted(self.data_faults["espn"].corrected), revalidated=revalidated, faults=faults)


def _promotion_kind(promotion_id: str) -> str:
    """`lad-home-win-6-runs` -> `home-win-6-runs`: the catalogue names a kind after the club."""
    return promotion_id.split("-", 1)[1]


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    def at(q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))], 3)
    return {"count": len(values), "p50": at(0.5), "p99": at(0.99), "max": round(values[-1], 3),
            "mean": round(statistics.fmean(values), 3)}


def _embedded_adapters(settings: Settings, chaos_seed: int | None) -> dict:
    from shared.adapters.local.bus import LocalBus
    from shared.adapters.local.bus_faults import FaultPlan
    from shared.adapters.local.documents import SqliteDocumentStore
    if settings.backend != "local":
        raise ValueError("the season run uses the embedded backend (--backend local)")
    bus = LocalBus(faults=FaultPlan.chaos(chaos_seed) if chaos_seed is not None else None)
    settings.home.mkdir(parents=True, exist_ok=True)
    documents = SqliteDocumentStore(settings.home / "documents.sqlite",
                                    clock=lambda: bus.clock.wall_time(bus.clock.now()))
    return {"bus": bus, "documents": documents}


__all__ = ["SeasonRun", "SeasonOptions", "SeasonSummary", "GameFacts", "GameFinal"]
