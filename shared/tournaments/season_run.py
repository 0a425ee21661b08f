"""`sportsflow leaderboard season`: settle a whole seeded season through the real job path
(settlement commands -> the embedded bus -> settlement_worker) and compare the final
leaderboards with an independent recomputation from the guesses.

With `--chaos SEED` the embedded bus duplicates, reorders and loses acks (Pub/Sub's faults),
handlers fail transiently, every settlement crash point fires (seeded, each place at most once
per match or batch) and each match's settlement command is also submitted again, so the same
settlement event is replayed. The run passes only if every execution completed, every board
`check`s, and each board equals the recomputation.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.bus_faults import FaultPlan
from shared.adapters.local.documents import SqliteDocumentStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.codec import encode
from shared.contracts.envelope import new_id
from shared.executions.commands import submit
from shared.executions.jobs import JOB_TOPICS, Job
from shared.executions.state import COMPLETED, IN_PROGRESS, QUEUED, ExecutionStore
from shared.runtime import crash_points
from shared.runtime.crash_points import KillAt, PublishTimedOut, SeededCrashes
from shared.runtime.embedded import EmbeddedDeployment
from shared.runtime.errors import TransientError
from shared.tournaments.leaderboard import Board, Leaderboards
from shared.tournaments.season import (
    SeasonPlan,
    end_match,
    load_season,
    recompute_leaderboard,
)
from shared.tournaments.store import TournamentStore, guesses_collection

CHAOS_TRANSIENT_FAILURE_RATE = 0.05
CHAOS_REPLAYED_COMMAND_RATE = 0.3
DRAIN_VIRTUAL_SECONDS = 24 * 3600


@dataclass
class SeasonReport:
    matches: int
    members: int
    guesses: int
    executions: int = 0
    completed: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    boards: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    redelivered: int = 0  # jobs of a killed earlier run, published again on this one

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


class SeasonRun:
    def __init__(self, home: Path, plan: SeasonPlan, *, chaos_seed: int | None = None,
                 crash_probability: float = 0.05, progress: Callable[[str, int, int], None] | None = None):
        self.plan, self.chaos_seed = plan, chaos_seed
        self._progress = progress or (lambda stage, done, total: None)
        self._random = random.Random(f"season-chaos-{chaos_seed}")
        self._injected_failures = 0
        bus = LocalBus(faults=FaultPlan.chaos(chaos_seed) if chaos_seed is not None else None)
        home.mkdir(parents=True, exist_ok=True)
        documents = SqliteDocumentStore(home / "documents.sqlite", clock=lambda: bus.clock.wall_time(bus.clock.now()))
        self.services = Services.with_adapters(Settings(home=home), bus=bus, documents=documents)
        # --chaos: seeded crashes; and a real SIGKILL where SPORTSFLOW_KILL_AT says, if it says
        self.seeded = SeededCrashes(chaos_seed, probability=crash_probability) if chaos_seed is not None else None
        self.crashes = _Injectors([i for i in (self.seeded, KillAt.from_env()) if i is not None])

    def run(self) -> SeasonReport:
        plan, documents = self.plan, self.services.documents
        report = SeasonReport(plan.matches, plan.members, 0)
        EmbeddedDeployment(self.services, wrap=self._flaky if self.chaos_seed is not None else None).deploy()
        started = time.perf_counter()
        store = load_season(documents, plan, progress=lambda n: self._progress("load", n + 1, plan.matches))
        report.guesses = sum(documents.count(guesses_collection(plan.tournament_id, m.match_id))
                             for m in plan.match_list())
        report.seconds["load"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        crash_points.install(self.crashes)
        try:
            report.redelivered = self._redeliver_unfinished()
            for number in range(plan.matches):
                match = end_match(store, plan, number)
                self._command(match)
                if self.chaos_seed is not None and self._random.random() < CHAOS_REPLAYED_COMMAND_RATE:
                    self._command(match)  # the same settlement event again
                if number % plan.matches_per_round == plan.matches_per_round - 1 or number == plan.matches - 1:
                    self.services.bus.drain(max_seconds=DRAIN_VIRTUAL_SECONDS)  # a round's matches, in any order
                self._progress("settle", number + 1, plan.matches)
            self.services.bus.drain(max_seconds=DRAIN_VIRTUAL_SECONDS)
        finally:
            crash_points.install(None)
        report.seconds["settle"] = round(time.perf_counter() - started, 1)
        self._verify(report)
        report.faults = self._fault_counts()
        return report

    def _redeliver_unfinished(self) -> int:
        """A run started again after its process was killed: the jobs of executions it left queued
        or in progress died with its in-memory bus. Pub/Sub would redeliver them (never acked), so
        they are published again, with their execution id, and finish there."""
        executions = ExecutionStore(self.services.documents)
        unfinished = [e for status in (QUEUED, IN_PROGRESS) for e in executions.list(status=status, limit=100_000)]
        store = TournamentStore(self.services.documents)
        for execution in unfinished:
            match = store.match(self.plan.tournament_id, execution.entity_id)
            job = Job(jobId=new_id(), executionId=execution.execution_id, requestId=execution.request_id,
                      jobType="settlement", entityId=execution.entity_id, attempt=execution.attempt + 1,
                      enqueuedAt=self.services.documents.now(),
                      payload={"tournament_id": match.tournament_id, "match_id": match.match_id,
                               "status_timestamp": match.status_timestamp.isoformat()})
            encoded = encode(job, run_id=job.jobId, correlation_id=job.requestId, producer="season-run")
            self.services.bus.publish(JOB_TOPICS["settlement"], encoded.data, encoded.attributes)
        if unfinished:
            self.services.bus.drain(max_seconds=DRAIN_VIRTUAL_SECONDS)
        return len(unfinished)

    def _command(self, match) -> None:
        try:
            submit(self.services, job_type="settlement", entity_id=match.match_id, triggered_by="season-run",
                   payload={"tournament_id": match.tournament_id, "match_id": match.match_id,
                            "status_timestamp": match.status_timestamp.isoformat()})
        except PublishTimedOut:
            pass  # the job was accepted all the same; its worker runs it

    def _flaky(self, name: str, handler):
        def flaky(message, ctx):
            if self._random.random() < CHAOS_TRANSIENT_FAILURE_RATE:
                self._injected_failures += 1
                raise TransientError(f"chaos: injected transient failure in {name}")
            return handler(message, ctx)
        return flaky

    def _verify(self, report: SeasonReport) -> None:
        plan, documents = self.plan, self.services.documents
        executions = ExecutionStore(documents).list(limit=100_000)
        report.executions = len(executions)
        report.completed = sum(e.status == COMPLETED for e in executions)
        for execution in executions:
            decision = execution.summary.get("decision", execution.status)
            report.decisions[decision] = report.decisions.get(decision, 0) + 1
        if report.completed != report.executions:
            report.problems.append(f"{report.executions - report.completed} executions did not complete")
        started = time.perf_counter()
        oracle = recompute_leaderboard(plan)
        report.seconds["recompute"] = round(time.perf_counter() - started, 1)
        leaderboards = Leaderboards(documents)
        leagues = {league.league_id: set(members) for league, members in plan.league_list()}
        for board in leaderboards.boards_of(plan.tournament_id):
            check = leaderboards.check(board)
            projected = leaderboards.projected(board)
            entries = [tuple(e.__dict__.values()) for e in projected[1]] if projected else []
            expected = oracle if board.league_id is None else _league_of(oracle, leagues[board.league_id])
            equal = entries == expected
            report.boards[board.board_id] = {"entries": len(entries), "check": check.ok, "equals_recomputation": equal,
                                             "leader": entries[0] if entries else None}
            report.problems += [f"{board.board_id}: {p}" for p in check.problems]
            if not equal:
                report.problems.append(f"{board.board_id}: differs from the independent recomputation")
        if set(report.boards) != {Board(plan.tournament_id).board_id} | {f"league__{lid}" for lid in leagues}:
            report.problems.append(f"boards found: {sorted(report.boards)}")

    def _fault_counts(self) -> dict[str, int]:
        if self.chaos_seed is None:
            return {}
        counts = dict(vars(self.services.bus.faults.counts))
        counts["transient_handler_failures"] = self._injected_failures
        counts.update({f"crash_{point}": n for point, n in sorted(self.seeded.counts.items())})
        return counts

    def close(self) -> None:
        self.services.close()


class _Injectors:
    """Several crash injectors at once: the seeded chaos and a real SIGKILL."""

    def __init__(self, injectors: list):
        self._injectors = injectors

    def at(self, point: str, context: dict[str, Any]) -> None:
        for injector in self._injectors:
            injector.at(point, context)


def _league_of(oracle: list[tuple], members: set[str]) -> list[tuple]:
    """The league's board from the tournament's: its members, ranked again densely."""
    board, rank_number, last = [], 0, None
    for _, member_id, points, exact in oracle:
        if member_id in members:
            if points != last:
                rank_number, last = rank_number + 1, points
            board.append((rank_number, member_id, points, exact))
    return board
