"""The control-status graph (compounds.rules.CONTROL), walked through the service."""

import pytest
from django.core.exceptions import PermissionDenied

from compounds.models import Compound, ControlStatus, StatusChange
from compounds.rules import CONTROL
from compounds.services import TransitionRefused, allowed_targets, compound_change_status

S = ControlStatus
# Tightening may jump; loosening goes one level at a time.
ALLOWED = {
    (S.NORMAL, S.PRECAUTIONARY),
    (S.NORMAL, S.CONTROLLED),
    (S.NORMAL, S.SEALED),
    (S.PRECAUTIONARY, S.NORMAL),
    (S.PRECAUTIONARY, S.CONTROLLED),
    (S.PRECAUTIONARY, S.SEALED),
    (S.CONTROLLED, S.PRECAUTIONARY),
    (S.CONTROLLED, S.SEALED),
    (S.SEALED, S.CONTROLLED),
}


def test_the_graph_is_the_one_the_tests_describe():
    assert set(CONTROL.moves()) == ALLOWED
    assert allowed_targets(S.SEALED) == [S.CONTROLLED]


@pytest.mark.parametrize(("from_status", "to_status"), sorted(CONTROL.moves()))
def test_every_allowed_move_works_and_is_recorded(compound_a, secretary_a, from_status, to_status):
    Compound.objects.filter(pk=compound_a.pk).update(status=from_status)
    change = compound_change_status(
        compound_id=compound_a.pk, to_status=to_status, reason="第3轮筛查", by=secretary_a
    )
    compound_a.refresh_from_db()
    assert compound_a.status == to_status
    assert compound_a.status_changed_at is not None
    assert (change.from_status, change.to_status) == (from_status, to_status)
    assert change.changed_by == secretary_a
    assert change.reason == "第3轮筛查"
    record = compound_a.history.latest()
    assert record.status == to_status
    assert record.history_change_reason == "第3轮筛查"
    assert record.history_user == secretary_a


@pytest.mark.parametrize(("from_status", "to_status"), sorted(CONTROL.refused()))
def test_every_refused_move_is_refused_with_its_message(
    compound_a, secretary_a, from_status, to_status
):
    Compound.objects.filter(pk=compound_a.pk).update(status=from_status)
    with pytest.raises(TransitionRefused) as refused:
        compound_change_status(
            compound_id=compound_a.pk, to_status=to_status, reason="理由", by=secretary_a
        )
    text = str(refused.value)
    assert CONTROL.label(from_status) in text and CONTROL.label(to_status) in text
    for target in CONTROL.allowed(from_status):  # it names what the status can become
        assert CONTROL.label(target) in text
    assert refused.value.field == "to_status"
    compound_a.refresh_from_db()
    assert compound_a.status == from_status
    assert not StatusChange.objects.exists()


def test_the_same_status_is_refused(compound_a, secretary_a):
    with pytest.raises(TransitionRefused):
        compound_change_status(
            compound_id=compound_a.pk, to_status=compound_a.status, reason="理由", by=secretary_a
        )


def test_a_volunteer_may_make_no_move(compound_a, volunteer):
    assert allowed_targets(S.NORMAL, by=volunteer) == []
    with pytest.raises(PermissionDenied):
        compound_change_status(
            compound_id=compound_a.pk, to_status=S.SEALED, reason="理由", by=volunteer
        )
