"""Each processor's declared `reads` (its provenance) name exactly the tables its SQL reads, with
the window it reads them in: a read the declaration missed would leave a stale result unseen."""
from __future__ import annotations

import re

import pytest

from shared.pipeline.phase2.processors import GAME_IDS_SQL, REGISTRY_SQL
from shared.pipeline.phase2.processors import PROCESSORS as PHASE2
from shared.pipeline.phase3 import PROCESSORS as PHASE3
from shared.pipeline.phase4 import PROCESSORS as PHASE4
from shared.pipeline.tables import processors_by_name

# A table, and (looked ahead, not consumed) the rest of its clause up to the next JOIN.
TABLE = re.compile(r"\b(nba_(?:raw|analytics|precompute)\.\w+)\b(?=(?P<tail>[^()]{0,160}))")
PRODUCER = {p.output.qualified_name: name for name, p in processors_by_name().items()}


def reads_in(sql: str) -> set[tuple[str, str]]:
    """(producing processor, window) of every table the SQL names."""
    found = set()
    for match in TABLE.finditer(sql):
        tail = re.split(r"\bJOIN\b|\bUNION\b", match.group("tail"))[0]
        window = "before" if re.search(r"<\s*@d", tail) else "through" if re.search(r"<=\s*@d", tail) else "date"
        found.add((PRODUCER[match.group(1)], window))
    # A table read in a wider window than the date needs that window only (e.g. the registry's MAX ≤ D).
    return {(p, w) for p, w in found if w != "date" or not any(q == p and v != "date" for q, v in found)}


@pytest.mark.parametrize("name", sorted({**PHASE3, **PHASE4}))
def test_query_processors_declare_what_their_sql_reads(name):
    processor = {**PHASE3, **PHASE4}[name]
    declared = {(spec.processor, spec.window) for spec in processor.reads}
    assert declared == reads_in(processor.sql)


def test_the_box_score_processor_declares_the_registry_and_its_game_id_sources():
    declared = {(spec.processor, spec.window) for spec in PHASE2["player_boxscores"].reads}
    assert declared == reads_in(REGISTRY_SQL) | reads_in(GAME_IDS_SQL)
    assert {spec.processor for spec in PHASE2["player_boxscores"].reads if spec.optional} == {
        "raw_schedule", "raw_team_boxscores"}
