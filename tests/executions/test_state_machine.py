"""The execution state machine: only legal transitions, enforced in a store transaction, with a step log."""
from __future__ import annotations

import threading

import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.executions.state import (
    CANCELLED,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    LEGAL_TRANSITIONS,
    QUEUED,
    STATES,
    ExecutionStore,
    IllegalTransition,
)


@pytest.fixture
def executions(tmp_path):
    documents = SqliteDocumentStore(tmp_path / "d.sqlite")
    yield ExecutionStore(documents)
    documents.close()


def _new(executions):
    return executions.create(job_type="settlement", entity_id="x1", triggered_by="admin@example.com",
                             request_id="req-1")


def test_the_happy_path_is_logged_step_by_step(executions):
    execution = _new(executions)
    assert execution.status == QUEUED
    executions.transition(execution.execution_id, IN_PROGRESS)
    executions.log_step(execution.execution_id, "fetched", records=3)
    done = executions.transition(execution.execution_id, COMPLETED, summary={"records": 3})
    assert (done.status, done.attempt, done.summary, done.triggered_by) == (COMPLETED, 1, {"records": 3},
                                                                            "admin@example.com")
    steps = executions.steps(execution.execution_id)
    assert [(s.name, s.status) for s in steps] == [("created", QUEUED), (IN_PROGRESS, IN_PROGRESS),
                                                   ("fetched", IN_PROGRESS), (COMPLETED, COMPLETED)]
    assert steps[2].detail == {"records": 3}
    assert [s.at for s in steps] == sorted(s.at for s in steps)


ILLEGAL = [(current, target) for current in STATES for target in STATES if target not in LEGAL_TRANSITIONS[current]]


@pytest.mark.parametrize("current,target", ILLEGAL)
def test_every_illegal_transition_is_refused_and_changes_nothing(executions, current, target):
    execution = _new(executions)
    path = {QUEUED: [], IN_PROGRESS: [IN_PROGRESS], COMPLETED: [IN_PROGRESS, COMPLETED],
            FAILED: [IN_PROGRESS, FAILED], CANCELLED: [CANCELLED]}[current]
    for step in path:
        executions.transition(execution.execution_id, step, error="boom" if step == FAILED else None)
    before = executions.get(execution.execution_id)
    steps_before = len(executions.steps(execution.execution_id))
    with pytest.raises(IllegalTransition, match=f"{current} -> {target} is not allowed"):
        executions.transition(execution.execution_id, target)
    assert executions.get(execution.execution_id) == before
    assert len(executions.steps(execution.execution_id)) == steps_before


def test_terminal_states_are_terminal():
    assert all(not LEGAL_TRANSITIONS[s] for s in (COMPLETED, FAILED, CANCELLED))
    assert LEGAL_TRANSITIONS[QUEUED] == {IN_PROGRESS, CANCELLED}


def test_two_racing_finishers_cannot_both_finish(executions):
    execution = _new(executions)
    executions.transition(execution.execution_id, IN_PROGRESS)
    outcomes: list[str] = []

    def finish(target):
        try:
            executions.transition(execution.execution_id, target, error="x" if target == FAILED else None)
            outcomes.append(target)
        except IllegalTransition:
            outcomes.append("refused")
    threads = [threading.Thread(target=finish, args=(t,)) for t in (COMPLETED, FAILED, CANCELLED, COMPLETED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("refused") == 3
    assert executions.get(execution.execution_id).status in (COMPLETED, FAILED, CANCELLED)


def test_list_filters_by_status_newest_first(executions):
    first, second = _new(executions), _new(executions)
    executions.transition(second.execution_id, CANCELLED)
    assert [e.execution_id for e in executions.list()] == [second.execution_id, first.execution_id]
    assert [e.execution_id for e in executions.list(status=QUEUED)] == [first.execution_id]


def test_unknown_status_is_a_clear_error(executions):
    with pytest.raises(ValueError, match="unknown execution status"):
        executions.transition(_new(executions).execution_id, "done")
