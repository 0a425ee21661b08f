"""`status`: which processors are done, what each trigger waits for, the date's dead letters."""
import base64
import json
from datetime import date

from shared.adapters.local.documents import SqliteDocumentStore
from shared.orchestration.fan_in import FanInLedger, PartOutcome
from shared.pipeline.status import date_status
from shared.runtime.dead_letters import COLLECTION

DAY = date(2025, 1, 15)


def test_why_has_phase4_not_fired(tmp_path):
    documents = SqliteDocumentStore(tmp_path / "d.sqlite")
    ledger = FanInLedger(documents)
    for part in ("player_game_summary", "team_offense_game_summary", "team_defense_game_summary",
                 "upcoming_team_game_context"):
        ledger.record_part(DAY, part, PartOutcome(succeeded=True, fence=1), message_id=part,
                           orchestrator="phase3_to_phase4_orchestrator")
    state = date_status(documents, DAY)
    phase3 = next(p for p in state.phases if p.phase == 3)
    assert phase3.missing == ("upcoming_player_game_context",)
    phase4 = next(t for t in state.triggers if t.target == "phase4")
    assert phase4.missing == ("upcoming_player_game_context",) and phase4.claimed_at is None

    ledger.record_part(DAY, "upcoming_player_game_context", PartOutcome(succeeded=True, fence=1), message_id="x",
                       orchestrator="o")
    ledger.claim(DAY, "phase4", "v1", orchestrator="phase3_to_phase4_orchestrator", claimant="x", attempt="a")
    phase4 = next(t for t in date_status(documents, DAY).triggers if t.target == "phase4")
    assert phase4.missing == () and phase4.claimed_at is not None and not phase4.published


def test_dead_letters_of_other_dates_are_left_out(tmp_path):
    documents = SqliteDocumentStore(tmp_path / "d.sqlite")

    def letter(doc_id, payload_date):
        data = json.dumps({"payload": {"analysis_date": payload_date}}).encode()
        documents.create(f"{COLLECTION}/{doc_id}", {"source_topic": "t", "error_kind": "k", "reason": "r",
                                                    "original_data_b64": base64.b64encode(data).decode()})

    letter("a", DAY.isoformat())
    letter("b", "2025-01-16")
    documents.create(f"{COLLECTION}/c", {"source_topic": "t", "error_kind": "not_json", "reason": "r",
                                         "original_data_b64": base64.b64encode(b"{garbage").decode()})
    assert len(date_status(documents, DAY).dead_letters) == 2  # its own, and the unreadable one
