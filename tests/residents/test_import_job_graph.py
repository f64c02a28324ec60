"""An import job's states as data (residents.rules.IMPORT_JOB): the graph is walked, every
move it lacks is refused with its message, the keeper's moves are the keeper's, and the
services move a job only along it."""

import pytest
from django.core.exceptions import PermissionDenied

from residents import rules, services
from residents.models import ImportJob
from tests.factories import ImportJobFactory
from wuyi.lib.graphs import MoveRefused

S = ImportJob.State
GRAPH = rules.IMPORT_JOB


def test_the_graph_names_every_state_and_only_done_is_final():
    assert set(GRAPH.moves_from) == set(S.values)
    assert [s for s in S.values if GRAPH.is_final(s)] == [S.DONE]


def test_every_job_not_ended_may_be_failed():
    """By its lease (import_jobs_expire) or the daily purge (import_files_purge)."""
    for state in S.values:
        if state not in (S.DONE, S.FAILED):
            assert GRAPH.is_move(state, S.FAILED), state


@pytest.mark.parametrize(("current", "target"), list(GRAPH.moves()))
def test_every_move_is_allowed_to_the_keeper(secretary_a, current, target):
    GRAPH.check(current, target, by=secretary_a)
    GRAPH.check(current, target)  # a worker's own move, after its own checks


@pytest.mark.parametrize(("current", "target"), list(GRAPH.refused()))
def test_every_other_move_is_refused_with_its_message(current, target):
    with pytest.raises(MoveRefused) as refused:
        GRAPH.check(current, target)
    assert GRAPH.label(current) in str(refused.value.message)


def test_the_keepers_moves_are_not_a_volunteers(volunteer):
    keepers = [(c, t) for c, t in GRAPH.moves() if GRAPH.moves_from[c][t] is not None]
    assert (S.FAILED, S.QUEUED) in keepers and (S.CHECKED, S.IMPORTING) in keepers
    for current, target in keepers:
        with pytest.raises(PermissionDenied):
            GRAPH.check(current, target, by=volunteer)


def test_a_service_moves_a_job_only_along_the_graph(compound_a, secretary_a):
    job = ImportJobFactory(compound=compound_a, state=S.DONE)
    with pytest.raises(MoveRefused):
        services._move_job(job.pk, current=S.DONE, to=S.QUEUED, by=secretary_a)
    # A claim moves CHECKED -> IMPORTING, a move of the graph; a job in another state is not
    # moved (the conditional UPDATE finds it elsewhere).
    assert not services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False)
    job.refresh_from_db()
    assert job.state == S.DONE


def test_a_claim_is_the_keepers_and_moves_the_job_once(compound_a, secretary_a, volunteer):
    job = ImportJobFactory(compound=compound_a, state=S.CHECKED)
    with pytest.raises(PermissionDenied):
        services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False, by=volunteer)
    assert services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=True, by=secretary_a)
    assert not services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=True, by=secretary_a)
    job.refresh_from_db()
    assert job.state == S.IMPORTING and job.skip_bad_rows
