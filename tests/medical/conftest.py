"""Fixtures of the medical tests: a sealed compound, a resident, a hospital, a crew."""

import pytest
import time_machine

from accounts.models import Role
from compounds.models import Compound, ControlStatus
from messaging.models import SmsTemplate
from tests.factories import (
    AmbulanceFactory,
    HospitalFactory,
    MedicalStaffFactory,
    ResidentFactory,
    UserFactory,
)
from tests.medical.helpers import MORNING


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sealed(compound_a):
    Compound.objects.filter(pk=compound_a.pk).update(status=ControlStatus.SEALED)
    compound_a.refresh_from_db()
    return compound_a


@pytest.fixture
def hospital(district):
    return HospitalFactory(name="兰州市第一人民医院", short_name="市一院", districts=[district])


@pytest.fixture
def zhang(sealed):
    return ResidentFactory(compound=sealed, name="张建国", phone="13893100011")


@pytest.fixture
def crew(sealed):
    return UserFactory(username="crew", role=Role.VOLUNTEER, posted_to=sealed)


@pytest.fixture
def cars(sealed, crew):
    return [
        AmbulanceFactory(
            compound=sealed, plate="甘A12001", driver_phone="13893100021", crew=[crew]
        ),
        AmbulanceFactory(compound=sealed, plate="甘A12002", driver_phone="13893100022"),
    ]


@pytest.fixture
def doctor(sealed, medic):
    return MedicalStaffFactory(compound=sealed, name="李医生", user=medic, phone="13893100031")


@pytest.fixture
def approved():
    SmsTemplate.objects.filter(name__in=["转运接送通知", "转运任务通知"]).update(
        code="SMS_DEMO", approved=True
    )


@pytest.fixture
def api(secretary_a):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(secretary_a)
    return client
