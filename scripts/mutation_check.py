#!/usr/bin/env python3
"""Disable each exactly-once mechanism with a one-line change and show a deterministic test
kills it (fails). Restores every file afterwards, whatever happens.

    python scripts/mutation_check.py            # all mutations
    python scripts/mutation_check.py fence      # those whose name contains "fence"

Exit status 0 only if every mutation was killed and the unmutated tests pass.
"""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CRASH = "tests/exactly_once/test_crash_windows.py"
P5 = "tests/predictions"


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    original: str
    mutated: str
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation("claim: a published claim is not published again", "shared/orchestration/dependency_graph.py",
             "        if claim.published:\n            return False",
             "        if False:\n            return False",
             (f"{CRASH}::test_a_kill_between_claim_and_publish_keeps_the_message_until_the_trigger_is_out",)),
    Mutation("publish lease: one live publisher per claim", "shared/orchestration/fan_in.py",
             'lease_live = data["lease_holder"] not in (None, attempt) and data["lease_until"] > now \\',
             'lease_live = False and data["lease_holder"] not in (None, attempt) and data["lease_until"] > now \\',
             (f"{CRASH}::test_a_kill_between_claim_and_publish_keeps_the_message_until_the_trigger_is_out",)),
    Mutation("claimant is not acked until published", "shared/orchestration/dependency_graph.py",
             "            if claim.claimant == claimant:",
             "            if False:",
             (f"{CRASH}::test_a_kill_between_claim_and_publish_keeps_the_message_until_the_trigger_is_out",)),
    Mutation("run lease: one live run per processor and date", "shared/pipeline/run_history.py",
             '        if _live(data, now) and data.get("run_id") != run_id:',
             '        if False:',
             (f"{CRASH}::test_a_live_lease_defers_other_triggers_and_retries_its_own",)),
    Mutation("run lease no longer than the function's timeout", "shared/pipeline/processor.py",
             "lease_policy=LeasePolicy.for_timeout(fctx.function.timeout_s))",
             "lease_policy=LeasePolicy(ttl=LeasePolicy().ttl * 15))",
             (f"{CRASH}::test_a_crashed_run_does_not_pin_its_date",)),
    Mutation("heartbeat renews a working run's lease", "shared/pipeline/run_history.py",
             "                heartbeat.beat()",
             "                pass",
             ("tests/exactly_once/test_leases_and_deadlines.py::test_the_heartbeat_keeps_a_long_run_s_lease",)),
    Mutation("an older scrape never overwrites a newer one", "shared/pipeline/run_history.py",
             "    return arrival is not None and succeeded_arrival is not None and arrival < succeeded_arrival",
             "    return False",
             ("tests/pipeline/test_phase2.py::test_an_older_scrape_arriving_late_never_overwrites_a_newer_one",)),
    Mutation("fencing token on the outcome", "shared/pipeline/run_history.py",
             '        if not document or document.data.get("fence") != lease.fence:\n            raise LeaseLost',
             '        if not document:\n            raise LeaseLost',
             (f"{CRASH}::test_a_zombie_can_never_record_over_the_holder",)),
    Mutation("dedup on claim id", "shared/pipeline/phase3/handler.py",
             "    if documents.get(mark) is not None:",
             "    if False:",
             (f"{CRASH}::test_two_deliveries_of_one_claims_trigger_give_one_effect",)),
    Mutation("skip if done, but announce", "shared/pipeline/processor.py",
             "        _announce(processor, ctx, claim.records, claim.data_version, claim.fence)\n",
             "        pass\n",
             (f"{CRASH}::test_a_crash_after_recording_is_announced_by_the_redelivery",)),
    Mutation("ids published as attributes", "shared/runtime/context.py",
             "self.services.bus.publish(topic, encoded.data, encoded.attributes, ordering_key)",
             "self.services.bus.publish(topic, encoded.data, {}, ordering_key)",
             (f"{CRASH}::test_every_message_carries_its_ids_as_attributes",)),
    Mutation("versioned run key", "shared/pipeline/processor.py",
             "    run_key = data_versions.fingerprint(provenance)",
             '    run_key = "unversioned"; provenance = {}',
             ("tests/exactly_once/test_corrections.py::test_a_correction_reflows_once_and_later_dates_go_stale",)),
    Mutation("versioned claims", "shared/orchestration/rules.py",
             "        return data_versions.fingerprint({name: processor_named(name).provenance_as_of(documents, day)",
             '        return "unversioned" if True else data_versions.fingerprint({name: processor_named(name).provenance_as_of(documents, day)',
             ("tests/exactly_once/test_corrections.py::test_a_correction_reflows_once_and_later_dates_go_stale",)),
    Mutation("phase 5: a batch is opened once per date and input version", "shared/predictions/batches.py",
             'hashlib.sha256(f"phase5|{day.isoformat()}|{key}".encode())',
             'hashlib.sha256(f"phase5|{day.isoformat()}|{key}|{uuid.uuid4()}".encode())',
             (f"{P5}/test_coordinator.py::test_a_duplicate_trigger_fans_out_once",)),
    Mutation("phase 5: a player's rows are appended once per batch", "shared/predictions/worker.py",
             'batch_id=f"{batch.batch_id}:{message.player_id}:{message.game_id}")',
             'batch_id=f"{batch.batch_id}:{message.player_id}:{message.game_id}:{__import__(\'uuid\').uuid4().hex}")',
             (f"{P5}/test_phase5_exactly_once.py::test_a_crash_in_any_window_predicts_once_and_completes_once",)),
    Mutation("phase 5: the completion is claimed before it is published", "shared/predictions/readiness.py",
             "    if claim.published:\n        return False\n    if not claim.won_now",
             "    if False:\n        return False\n    if False and not claim.won_now",
             (f"{P5}/test_coordinator.py::test_retry_after_a_third_of_the_workers_died_predicts_only_the_rest_exactly_once",)),
    Mutation("phase 5: a fan-out resumes from its last recorded chunk", "shared/predictions/batches.py",
             "            if data[\"fanned_out\"] or (live and not holder_is_dead):",
             "            if data[\"fanned_out\"]:",
             (f"{P5}/test_coordinator.py::test_start_racing_two_triggers_opens_one_batch_and_requests_each_player_once",)),
)


def pytest(tests: tuple[str, ...]) -> bool:
    result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", *tests],
                            cwd=REPO, capture_output=True, text=True)
    return result.returncode == 0


def check(mutation: Mutation) -> tuple[bool, float]:
    path = REPO / mutation.path
    source = path.read_text()
    if source.count(mutation.original) != 1:
        raise SystemExit(f"{mutation.name}: the line to mutate is not in {mutation.path} exactly once")
    started = time.monotonic()
    try:
        path.write_text(source.replace(mutation.original, mutation.mutated))
        passed = pytest(mutation.tests)
    finally:
        path.write_text(source)
    return not passed, time.monotonic() - started


def main(argv: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not argv or any(a in m.name for a in argv)]
    tests = tuple(sorted({t for m in chosen for t in m.tests}))
    if not pytest(tests):
        print("the unmutated tests fail: fix them first")
        return 1
    survivors = 0
    for mutation in chosen:
        killed, seconds = check(mutation)
        survivors += not killed
        killers = ", ".join(t.split("::")[-1] for t in mutation.tests)
        print(f"{'killed  ' if killed else 'SURVIVED'}  {seconds:5.1f} s  {mutation.name}  ← {killers}")
    print(f"{len(chosen) - survivors} of {len(chosen)} mutations killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
