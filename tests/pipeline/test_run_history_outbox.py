"""ops.processor_run_history rows staged in the outcome's transaction and flushed in batches:
never lost (a process that dies leaves them staged for the next), never doubled (a flush that
dies after appending appends nothing the second time), never staged for a refused outcome."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.adapters.local.warehouse import DuckDBWarehouse
from shared.config import Settings
from shared.pipeline import run_history
from shared.pipeline.noop_dag import NoopDag
from shared.pipeline.run_history import ATTEMPT_KEY, OUTBOX, RUN_HISTORY_TABLE, LeaseLost, RunStatus
from shared.pipeline.runner import Pipeline, RunOptions

DAY = date(2025, 1, 15)
AT = datetime(2025, 1, 16, 4, tzinfo=timezone.utc)


@pytest.fixture
def stores(tmp_path):
    documents = SqliteDocumentStore(tmp_path / "documents.sqlite")
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    warehouse.ensure_dataset("ops")
    warehouse.ensure_table(RUN_HISTORY_TABLE)
    yield documents, warehouse
    warehouse.close()


def attempt(run_id: str, status: str = "succeeded") -> run_history.Attempt:
    return run_history.attempt(analysis_date=DAY, processor="p", phase=3, run_key="k", run_id=run_id,
                               correlation_id="c", status=status, records=2, started_at=AT,
                               finished_at=AT + timedelta(seconds=1), data_version="v", fence=1)


def history(warehouse) -> list[dict]:
    return warehouse.query(f"SELECT * FROM {RUN_HISTORY_TABLE.qualified_name} ORDER BY run_id, status")


def test_an_outcome_stages_its_row_in_its_own_transaction_and_a_flush_appends_it(stores) -> None:
    documents, warehouse = stores
    lease = run_history.acquire(documents, "p", DAY, "k", "r1", message_id="m", provenance={})

    run_history.finish(documents, lease, RunStatus.SUCCEEDED, records=2, data_version="v", attempt=attempt("r1"))

    assert [doc.data["batch_id"] for doc in documents.query(OUTBOX)] == [attempt("r1").batch_id]
    assert run_history.flush_attempts(documents, warehouse) == 1
    assert documents.query(OUTBOX) == []
    [row] = history(warehouse)
    assert row == {**attempt("r1").row, "started_at": AT, "finished_at": AT + timedelta(seconds=1)}


def test_a_refused_outcome_stages_nothing(stores) -> None:
    documents, _ = stores
    stale = run_history.acquire(documents, "p", DAY, "k", "r1", message_id="m", provenance={})
    documents.update(stale.path, {"fence": stale.fence + 1})  # another run took the date

    with pytest.raises(LeaseLost):
        run_history.finish(documents, stale, RunStatus.SUCCEEDED, records=2, attempt=attempt("r1"))
    assert documents.query(OUTBOX) == []


def test_a_flush_that_died_after_appending_appends_nothing_the_second_time(stores) -> None:
    documents, warehouse = stores
    for run_id in ("r1", "r2"):
        run_history.stage_attempt(documents, attempt(run_id))
    # the first flush appended r1 and died before unstaging anything
    warehouse.append_unique(RUN_HISTORY_TABLE, [attempt("r1").row], key=ATTEMPT_KEY)

    assert run_history.flush_attempts(documents, warehouse) == 1
    assert run_history.flush_attempts(documents, warehouse) == 0
    assert [(r["run_id"], r["status"]) for r in history(warehouse)] == [("r1", "succeeded"), ("r2", "succeeded")]


def test_rows_of_one_run_that_differ_in_status_are_both_kept(stores) -> None:
    documents, warehouse = stores
    run_history.stage_attempt(documents, attempt("r1", "succeeded"))
    run_history.stage_attempt(documents, attempt("r1", "superseded"))

    assert run_history.flush_attempts(documents, warehouse) == 2


def test_rows_a_dead_process_staged_are_flushed_by_the_next_pipeline(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    run_history.stage_attempt(SqliteDocumentStore(home / "documents.sqlite"), attempt("dead"))

    with Pipeline(Settings(home=home), RunOptions()) as pipeline:
        rows = pipeline.services.warehouse.query(
            f"SELECT run_id FROM {RUN_HISTORY_TABLE.qualified_name} WHERE run_id = 'dead'")
        staged = pipeline.services.documents.query(OUTBOX)
    assert rows == [{"run_id": "dead"}] and staged == []


def test_the_noop_dag_keeps_every_record_and_a_second_run_is_a_no_op(tmp_path) -> None:
    with NoopDag(tmp_path) as dag:
        assert dag.run(DAY) == ["succeeded"] * 10
        assert dag.run(DAY) == ["skipped"] * 10
        rows = dag.services.warehouse.query(
            f"SELECT status, COUNT(*) AS n FROM {RUN_HISTORY_TABLE.qualified_name} GROUP BY status")
        versions = dag.services.documents.query(f"data_versions/{dag.processors[-1].name}/dates")
    assert rows == [{"status": "succeeded", "n": 10}]
    assert len(versions) == 1 and len(dag.published) == 20  # announced again by the no-op run
