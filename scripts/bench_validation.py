"""Outcome validation benchmarks on the embedded backend (SPEC §2 targets: median < 2 s, 50+
concurrent validations; ours: p50 < 50 ms per game).

1. season: `SeasonRun` over the first N dates of the 2024 game log (all by default): validation
   latency per game (p50/p99, the `validation finished` durations) and wall time;
2. concurrency: 50 games' game-final events validated at once by 50 threads: errors, wall time;
3. verify: `evidence verify` over the season's log, and the size of one inclusion proof.

    python scripts/bench_validation.py [--data ../shared/data/retrosheet-gamelogs] [--dates N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.config import Settings
from shared.contracts.validation import GameFinal
from shared.evidence_log.proof import inclusion_bundle
from shared.evidence_log.verify import verify_log
from shared.validation import records, system
from shared.validation.season import SeasonOptions, SeasonRun
from shared.validation.service import OutcomeValidator


def season(data: Path, dates: int | None, home: Path) -> dict:
    with SeasonRun(Settings(home=home), SeasonOptions(2024, data, limit_dates=dates)) as run:
        summary = run.run()
        log = system.evidence_log(run.services, signing=False)
        verified = verify_log(log, system.trusted_verifier(None, run.services))
        key = log.leaves()[log.size() // 3].key  # an early leaf: a full-depth audit path
        proof = json.dumps(inclusion_bundle(log, key))
        events = [GameFinal.model_validate(d.data["event"]) for d in run.services.documents.query(records.GAMES)]
        concurrent = fifty_at_once(run, events[:50])
    return {"games": summary.games, "latency_ms": summary.latency_ms, "season_wall_s": summary.wall_seconds,
            "evidence_records": summary.evidence_records, "agrees_with_game_log": summary.agrees_with_game_log,
            "verify_s": round(verified.seconds, 3), "verify_ok": verified.ok,
            "inclusion_proof": {"hashes": len(json.loads(proof)["audit_path"]), "bytes": len(proof)},
            "concurrent": concurrent}


def fifty_at_once(run: SeasonRun, events: list[GameFinal]) -> dict:
    """Re-validate 50 games under a new rule version of every promotion: 50 real validations at once."""
    catalogue = system.catalogue()
    bumped = catalogue.model_copy(update={"promotions": tuple(p.model_copy(update={"version": p.version + 1})
                                                              for p in catalogue.promotions)})
    validator = OutcomeValidator(run.services.documents, run.services.evidence,
                                 system.evidence_log(run.services, signing=False), bumped, lambda t, m: None)
    errors = []

    def one(event: GameFinal) -> float:
        try:
            return validator.validate(event).duration_ms
        except Exception as error:  # counted, not raised: the benchmark reports errors
            errors.append(repr(error))
            return float("nan")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        durations = list(pool.map(one, events))
    ok = sorted(d for d in durations if d == d)
    return {"validations": len(events), "errors": len(errors), "wall_s": round(time.perf_counter() - started, 3),
            "p50_ms": round(statistics.median(ok), 3) if ok else None, "max_ms": round(max(ok), 3) if ok else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" /
                        "retrosheet-gamelogs")
    parser.add_argument("--dates", type=int, default=None, help="first N dates only (default: the whole season)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        print(json.dumps(season(args.data, args.dates, Path(home)), indent=2))


if __name__ == "__main__":
    main()
