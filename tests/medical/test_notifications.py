"""What booking texts: the resident, the family and the crew, once."""

from medical import services
from tests.factories import (
    ResidentFactory,
)
from tests.medical.helpers import _book, _dialysis


def test_booking_tells_the_resident_family_and_crew_once(
    clock, secretary_a, zhang, hospital, cars, doctor, approved, django_capture_on_commit_callbacks
):
    from messaging.models import Recipient

    ResidentFactory(
        compound=zhang.compound, household=zhang.household, name="张丽", phone="13893100012"
    )
    with django_capture_on_commit_callbacks(execute=True):
        escort = _book(secretary_a, zhang, hospital, ambulance=cars[0], staff=doctor)
    phones = set(Recipient.objects.values_list("phone", flat=True))
    assert phones == {"13893100011", "13893100012", "13893100021", "13893100031"}
    services.escort_notify(escort=escort)
    assert Recipient.objects.count() == 4
    escort.refresh_from_db()
    assert escort.notified_at is not None


def test_booked_schedules_are_told_by_the_sweep_once(
    clock, secretary_a, zhang, hospital, cars, approved
):
    from messaging.models import Recipient

    _dialysis(secretary_a, zhang, hospital, ambulance=cars[0])
    services.escorts_book(days=7)
    assert services.escorts_notify_due() == 2  # tomorrow's: resident and driver
    assert services.escorts_notify_due() == 0
    assert Recipient.objects.count() == 2


def test_unapproved_templates_do_not_stop_a_booking(
    clock, secretary_a, zhang, hospital, cars, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    assert escort.pk and escort.status == "scheduled"
