"""The SQLite document store searches its indexed fields instead of scanning every document's JSON,
and returns what the unindexed path returns."""
from __future__ import annotations

import sqlite3

from shared.adapters.local.documents import INDEXED_FIELDS, SqliteDocumentStore, _order_sql, _where_sql


def _plan(path, collection, filters, order_by=None) -> str:
    where, params = _where_sql(collection, filters)
    guard, guard_params, order, order_params = _order_sql(order_by, False, filters)
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN SELECT path FROM documents WHERE {where}{guard} ORDER BY {order} "
                            "LIMIT 10", [*params, *guard_params, *order_params]).fetchall()
    return " | ".join(row[-1] for row in rows)


def test_filters_on_indexed_fields_search_the_index(tmp_path) -> None:
    path = tmp_path / "documents.sqlite"
    store = SqliteDocumentStore(path)
    for i in range(30):
        store.set(f"validation_decisions/K{i:02}", {"decision_key": f"K{i:02}", "team": "BOS" if i % 3 else "NYA",
                                                    "outcome": "met" if i % 2 else "not_met", "other": i % 3})
    assert {"team", "decision_key", "analysis_date"} <= set(INDEXED_FIELDS)
    assert "USING INDEX documents_by_team_path" in _plan(path, "validation_decisions", [("team", "==", "BOS")])
    keyset = _plan(path, "validation_decisions", [("decision_key", ">", "K10")], order_by="decision_key")
    assert "USING INDEX documents_by_decision_key_path" in keyset and "TEMP B-TREE" not in keyset
    indexed = [d.id for d in store.query("validation_decisions", [("team", "==", "BOS")])]
    scanned = [d.id for d in store.query("validation_decisions", [("other", "!=", 0)])]  # no index on `other`
    assert indexed == sorted(scanned) and len(indexed) == 20  # (!= orders by its field)
    page = store.query("validation_decisions", [("decision_key", ">", "K10")], order_by="decision_key", limit=5)
    assert [d.id for d in page] == ["K11", "K12", "K13", "K14", "K15"]
    store.close()
