"""The trigger rules of each orchestrator, derived from the topology (nothing repeated here).

A rule's input fingerprint is the provenance of the processors it triggers (the same
function their run keys hash), so a trigger fires once per version of what they would read."""
from __future__ import annotations

from datetime import date
from typing import Any, Callable

from shared.contracts.messages import AnalyticsTrigger, PrecomputeCompleted, PrecomputeTrigger
from shared.orchestration.dependency_graph import TriggerRule
from shared.pipeline import data_versions
from shared.ports.documents import DocumentStore
from shared.topology import TOPOLOGY, Topology

PHASE2_TO_PHASE3 = "phase2_to_phase3_orchestrator"
PHASE3_TO_PHASE4 = "phase3_to_phase4_orchestrator"
PHASE4 = "phase4_orchestrator"
PHASE4_TARGET = "phase4"
PHASE5_TARGET = "phase5"


def phase2_to_phase3_rules(topology: Topology = TOPOLOGY) -> tuple[TriggerRule, ...]:
    """One trigger per Phase 3 processor, when its raw tables are loaded."""
    return tuple(
        TriggerRule(target=f"phase3/{node}", waits_for=frozenset(parents), topic="phase3-trigger",
                    build=_analytics_trigger(node), inputs=provenance_of((node,)))
        for node, parents in sorted(topology.phase3_graph.items()))


def phase3_to_phase4_rules(topology: Topology = TOPOLOGY) -> tuple[TriggerRule, ...]:
    """Phase 4 starts once per input version, when all five Phase 3 processors are done: its first level."""
    roots = tuple(topology.phase4_levels()[0])

    def build(day: date, claim_id: str, services: Any) -> PrecomputeTrigger:
        return PrecomputeTrigger(analysis_date=day, processor_names=roots, triggered_by=PHASE3_TO_PHASE4,
                                 claim_id=claim_id)

    return (TriggerRule(target=PHASE4_TARGET, waits_for=topology.phase3_required, topic="phase4-trigger",
                        build=build, inputs=provenance_of(roots)),)


def phase4_rules(topology: Topology = TOPOLOGY) -> tuple[TriggerRule, ...]:
    """Each deeper Phase 4 node once its parents are done; then Phase 5, once per version of the final node."""
    inner = tuple(
        TriggerRule(target=f"phase4/{node}", waits_for=frozenset(parents), topic="phase4-trigger",
                    build=_precompute_trigger(node), inputs=provenance_of((node,)))
        for node, parents in sorted(topology.phase4_graph.items()) if parents)
    final_node = topology.phase4_final
    final = TriggerRule(target=PHASE5_TARGET, waits_for=frozenset({final_node}),
                        topic="phase4-precompute-complete", build=_precompute_completed(final_node),
                        inputs=lambda day, documents: data_versions.current_version(documents, final_node, day)
                        or data_versions.ABSENT)
    return inner + (final,)


def processor_named(name: str):
    from shared.pipeline.tables import processors_by_name
    return processors_by_name()[name]


def provenance_of(names: tuple[str, ...]) -> Callable[[date, DocumentStore], str]:
    """The fingerprint of what `names` would be computed from for a date, as of now."""
    def inputs(day: date, documents: DocumentStore) -> str:
        return data_versions.fingerprint({name: processor_named(name).provenance_as_of(documents, day)
                                          for name in names})
    return inputs


def _analytics_trigger(node: str):
    def build(day: date, claim_id: str, services: Any) -> AnalyticsTrigger:
        return AnalyticsTrigger(analysis_date=day, processor_names=(node,), triggered_by=PHASE2_TO_PHASE3,
                                claim_id=claim_id)
    return build


def _precompute_trigger(node: str):
    def build(day: date, claim_id: str, services: Any) -> PrecomputeTrigger:
        return PrecomputeTrigger(analysis_date=day, processor_names=(node,), triggered_by=PHASE4, claim_id=claim_id)
    return build


def _precompute_completed(final_node: str):
    def build(day: date, claim_id: str, services: Any) -> PrecomputeCompleted:
        rows = services.warehouse.query(
            f"SELECT COUNT(DISTINCT player_id) AS players, COUNT(*) AS records "
            f"FROM nba_precompute.{final_node} WHERE game_date = @d", {"d": day})
        return PrecomputeCompleted(analysis_date=day, players_ready=rows[0]["players"],
                                   records_processed=rows[0]["records"], claim_id=claim_id,
                                   data_version=data_versions.current_version(services.documents, final_node, day))
    return build
