import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from compounds.models import Compound, ControlStatus, StatusChange
from compounds.services import TransitionRefused, compound_change_status

S = ControlStatus


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_reason_is_required(compound_a, secretary_a, reason):
    with pytest.raises(TransitionRefused):
        compound_change_status(
            compound_id=compound_a.pk, to_status=S.SEALED, reason=reason, by=secretary_a
        )
    assert Compound.objects.get(pk=compound_a.pk).status == S.NORMAL


def test_reason_too_long(compound_a, secretary_a):
    with pytest.raises(TransitionRefused):
        compound_change_status(
            compound_id=compound_a.pk, to_status=S.SEALED, reason="长" * 501, by=secretary_a
        )


def test_unknown_status_refused(compound_a, secretary_a):
    with pytest.raises(TransitionRefused):
        compound_change_status(
            compound_id=compound_a.pk, to_status="locked", reason="x", by=secretary_a
        )


@pytest.mark.clock
def test_recent_positive_blocks_stepping_down(compound_a, secretary_a, settings):
    settings.WUYI_DOWNGRADE_QUIET_DAYS = 7
    today = timezone.localdate()
    Compound.objects.filter(pk=compound_a.pk).update(
        status=S.SEALED, last_positive_on=today - datetime.timedelta(days=3)
    )
    with pytest.raises(TransitionRefused, match="3"):
        compound_change_status(
            compound_id=compound_a.pk, to_status=S.CONTROLLED, reason="降级", by=secretary_a
        )
    Compound.objects.filter(pk=compound_a.pk).update(
        last_positive_on=today - datetime.timedelta(days=7)
    )
    compound_change_status(
        compound_id=compound_a.pk, to_status=S.CONTROLLED, reason="降级", by=secretary_a
    )
    assert Compound.objects.get(pk=compound_a.pk).status == S.CONTROLLED


@pytest.mark.clock
def test_recent_positive_does_not_block_tightening(compound_a, secretary_a):
    Compound.objects.filter(pk=compound_a.pk).update(last_positive_on=timezone.localdate())
    compound_change_status(
        compound_id=compound_a.pk, to_status=S.SEALED, reason="新增阳性", by=secretary_a
    )
    assert Compound.objects.get(pk=compound_a.pk).status == S.SEALED


def test_double_submit_is_idempotent(compound_a, secretary_a):
    first = compound_change_status(
        compound_id=compound_a.pk,
        to_status=S.SEALED,
        reason="阳性",
        by=secretary_a,
        expected_from=S.NORMAL,
    )
    second = compound_change_status(
        compound_id=compound_a.pk,
        to_status=S.SEALED,
        reason="阳性",
        by=secretary_a,
        expected_from=S.NORMAL,
    )
    assert first.pk == second.pk
    assert StatusChange.objects.count() == 1


def test_conflicting_change_is_refused(compound_a, secretary_a, district_staff):
    compound_change_status(
        compound_id=compound_a.pk, to_status=S.SEALED, reason="区里封控", by=district_staff
    )
    with pytest.raises(TransitionRefused, match=r"Someone|有人"):
        compound_change_status(
            compound_id=compound_a.pk,
            to_status=S.PRECAUTIONARY,
            reason="社区判断",
            by=secretary_a,
            expected_from=S.NORMAL,
        )
    assert Compound.objects.get(pk=compound_a.pk).status == S.SEALED


def test_outsider_cannot_reach_the_compound(compound_a, secretary_b):
    with pytest.raises(Compound.DoesNotExist):
        compound_change_status(
            compound_id=compound_a.pk, to_status=S.SEALED, reason="x", by=secretary_b
        )
    assert Compound.objects.get(pk=compound_a.pk).status == S.NORMAL


@pytest.mark.parametrize("role_fixture", ["volunteer", "medic"])
def test_field_roles_may_not_change_status(request, compound_a, role_fixture):
    user = request.getfixturevalue(role_fixture)
    with pytest.raises(PermissionDenied):
        compound_change_status(compound_id=compound_a.pk, to_status=S.SEALED, reason="x", by=user)


def test_district_staff_may_change_any_compound_of_the_district(
    compound_a, compound_b, district_staff
):
    for compound in (compound_a, compound_b):
        compound_change_status(
            compound_id=compound.pk, to_status=S.CONTROLLED, reason="区级管控", by=district_staff
        )
    assert set(Compound.objects.values_list("status", flat=True)) == {S.CONTROLLED}


@pytest.mark.clock
def test_days_since_positive(compound_a):
    compound_a.last_positive_on = timezone.localdate() - datetime.timedelta(days=4)
    assert compound_a.days_since_positive == 4
    compound_a.last_positive_on = None
    assert compound_a.days_since_positive is None


# ----------------------------------------------------------------------------- positive cases


@pytest.mark.clock
def test_a_new_case_restarts_the_quiet_period(compound_a, secretary_a):
    from compounds.models import PositiveCase
    from compounds.services import NewCase, compound_record_positive

    today = timezone.localdate()
    Compound.objects.filter(pk=compound_a.pk).update(
        status=S.CONTROLLED,
        last_positive_on=today - datetime.timedelta(days=12),
        created_at=timezone.now() - datetime.timedelta(days=60),
    )
    building = compound_a.buildings.get(number="2")
    case = compound_record_positive(
        compound_id=compound_a.pk,
        case=NewCase(found_on=today, building_id=building.pk),
        by=secretary_a,
    )
    compound_a.refresh_from_db()
    assert compound_a.last_positive_on == today and compound_a.days_since_positive == 0
    assert compound_a.status == S.CONTROLLED  # never lowered, never raised by itself
    assert case.building == building and case.recorded_by == secretary_a
    with pytest.raises(TransitionRefused) as refused:
        compound_change_status(
            compound_id=compound_a.pk, to_status=S.PRECAUTIONARY, reason="x", by=secretary_a
        )
    assert (today + datetime.timedelta(days=7)).isoformat() in str(refused.value)
    # An older case found later does not move the date back.
    compound_record_positive(
        compound_id=compound_a.pk,
        case=NewCase(found_on=today - datetime.timedelta(days=3)),
        by=secretary_a,
    )
    compound_a.refresh_from_db()
    assert compound_a.last_positive_on == today
    assert PositiveCase.objects.filter(compound=compound_a).count() == 2
    assert compound_a.history.filter(history_change_reason__contains=today.isoformat()).exists()


@pytest.mark.clock
def test_a_case_with_an_escalation_is_one_change(compound_a, secretary_a):
    from compounds.services import NewCase

    change = compound_change_status(
        compound_id=compound_a.pk,
        to_status=S.SEALED,
        reason="2号楼发现1例阳性",
        by=secretary_a,
        new_case=NewCase(found_on=timezone.localdate()),
    )
    compound_a.refresh_from_db()
    assert change.to_status == S.SEALED and compound_a.last_positive_on == timezone.localdate()


@pytest.mark.clock
def test_a_refused_step_down_keeps_no_half_of_the_change(compound_a, secretary_a):
    """Reporting a case and stepping down at once: the case makes the step down impossible,
    so neither is kept."""
    from compounds.models import PositiveCase
    from compounds.services import NewCase

    Compound.objects.filter(pk=compound_a.pk).update(status=S.SEALED, last_positive_on=None)
    with pytest.raises(TransitionRefused):
        compound_change_status(
            compound_id=compound_a.pk,
            to_status=S.CONTROLLED,
            reason="降级",
            by=secretary_a,
            new_case=NewCase(found_on=timezone.localdate()),
        )
    compound_a.refresh_from_db()
    assert compound_a.status == S.SEALED and compound_a.last_positive_on is None
    assert not PositiveCase.objects.exists()


@pytest.mark.parametrize(("days", "field"), [(-1, "case_date"), (1000, "case_date")])
@pytest.mark.clock
def test_case_dates_in_the_future_or_before_the_compound_are_refused(
    compound_a, secretary_a, days, field
):
    from compounds.services import NewCase, compound_record_positive

    Compound.objects.filter(pk=compound_a.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    found_on = timezone.localdate() - datetime.timedelta(days=days)
    with pytest.raises(TransitionRefused) as refused:
        compound_record_positive(
            compound_id=compound_a.pk, case=NewCase(found_on=found_on), by=secretary_a
        )
    assert refused.value.field == field
    compound_a.refresh_from_db()
    assert compound_a.last_positive_on is None


def test_the_day_a_compound_was_registered_is_the_day_in_shanghai(compound_a, secretary_a):
    """Registered at 07:00 Beijing time on 3 December (23:00 UTC on the 2nd): a case found on
    the 2nd is before it, on the 3rd it is not."""
    import zoneinfo

    import time_machine

    from compounds.services import NewCase, compound_record_positive

    registered = datetime.datetime(2026, 12, 3, 7, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    Compound.objects.filter(pk=compound_a.pk).update(created_at=registered)
    with time_machine.travel(registered + datetime.timedelta(days=1), tick=False):
        with pytest.raises(TransitionRefused) as refused:
            compound_record_positive(
                compound_id=compound_a.pk,
                case=NewCase(found_on=datetime.date(2026, 12, 2)),
                by=secretary_a,
            )
        assert refused.value.field == "case_date" and "2026-12-03" in str(refused.value.message)
        compound_record_positive(
            compound_id=compound_a.pk,
            case=NewCase(found_on=datetime.date(2026, 12, 3)),
            by=secretary_a,
        )
    compound_a.refresh_from_db()
    assert compound_a.last_positive_on == datetime.date(2026, 12, 3)


def test_a_case_in_another_compounds_building_is_refused(compound_a, compound_b, secretary_a):
    from compounds.services import NewCase, compound_record_positive

    with pytest.raises(TransitionRefused):
        compound_record_positive(
            compound_id=compound_a.pk,
            case=NewCase(
                found_on=timezone.localdate(), building_id=compound_b.buildings.first().pk
            ),
            by=secretary_a,
        )


def test_volunteers_cannot_report_cases(compound_a, volunteer):
    from compounds.services import NewCase, compound_record_positive

    with pytest.raises(PermissionDenied):
        compound_record_positive(
            compound_id=compound_a.pk, case=NewCase(found_on=timezone.localdate()), by=volunteer
        )
