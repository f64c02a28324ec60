import datetime
import uuid

import pytest
from django.utils import timezone

from compounds.models import Building
from residents.models import Household
from supplies import notify, services
from supplies.models import GroupBuy
from tests.factories import CatalogueItemFactory, HouseholdFactory, SupplierFactory


@pytest.fixture
def sms(sms_outbox):
    """The locmem outbox, the handover text approved."""
    from messaging.models import SmsTemplate

    SmsTemplate.objects.filter(name=notify.HANDOVER).update(code="SMS_9", approved=True)
    return sms_outbox


@pytest.fixture
def supplier(compound_a):
    return SupplierFactory(compound=compound_a, name="ALPHA鲜丰超市")


@pytest.fixture
def rice(supplier, compound_a):
    return CatalogueItemFactory(compound=compound_a, supplier=supplier, name="大米", price=45)


@pytest.fixture
def oil(supplier, compound_a):
    return CatalogueItemFactory(
        compound=compound_a, supplier=supplier, name="食用油", unit="桶", price=70
    )


@pytest.fixture
def buy(secretary_a, community_a, compound_a, supplier, rice, oil) -> GroupBuy:
    return services.group_buy_create(
        by=secretary_a,
        community=community_a,
        supplier=supplier,
        title="12月1日粮油团购",
        compounds=[compound_a],
        deadline=timezone.now() + datetime.timedelta(hours=20),
        delivery_date=timezone.localdate() + datetime.timedelta(days=2),
        items=[(rice, None, 5), (oil, "68.50", 2)],
    )


@pytest.fixture
def households(compound_a) -> list[Household]:
    one, two = Building.objects.filter(compound=compound_a).order_by("number")
    return [
        HouseholdFactory(compound=compound_a, building=one, unit="1", room="101"),
        HouseholdFactory(compound=compound_a, building=one, unit="1", room="102"),
        HouseholdFactory(compound=compound_a, building=one, unit="2", room="201"),
        HouseholdFactory(compound=compound_a, building=two, unit="1", room="301"),
    ]


@pytest.fixture
def key():
    return lambda: uuid.uuid4().hex
