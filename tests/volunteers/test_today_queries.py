"""今日任务 reads a constant number of queries, however many tasks a volunteer has (issue 24:
the page was measured under load at a tenth of a trivial page's requests/s)."""

# The fixtures come from the app's main test module: pytest sees them as arguments.
# ruff: noqa: F811

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from care.models import WelfareCheck
from compounds.models import Building
from residents.models import Household, Resident
from supplies.models import OrderStatus
from tests.factories import OrderFactory, RoundFactory
from tests.volunteers.test_volunteers import liu, team  # noqa: F401 - fixtures
from volunteers import registry


def _give(volunteer, compound, start: int, stop: int) -> None:
    """Tasks numbered start..stop-1 of every kind the phone lists for a volunteer: a welfare
    check, a disinfection round, an order carried and an order waiting, each in a building
    of its own."""
    today = timezone.localdate()
    for n in range(start, stop):
        building = Building.objects.create(compound=compound, number=str(100 + n))
        household = Household.objects.create(
            compound=compound, building=building, unit="1", room=str(101 + n)
        )
        resident = Resident.objects.create(
            household=household, compound=compound, community=compound.community, name=f"老人{n}"
        )
        WelfareCheck.objects.create(
            resident=resident,
            compound=compound,
            household=household,
            date=today,
            category="elderly_alone",
            volunteer=volunteer,
        )
        RoundFactory(compound=compound, assignee=volunteer)
        OrderFactory(
            household=household,
            status=OrderStatus.OUT_FOR_DELIVERY,
            claimed_by=volunteer.user,
        )
        OrderFactory(household=household, status=OrderStatus.PURCHASED)


def _queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("volunteers:today"))
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_the_today_list_reads_the_same_queries_for_3_tasks_as_for_30(
    login, liu, compound_a, django_assert_max_num_queries
):
    client = login(liu.user)
    _give(liu, compound_a, 0, 3)
    client.get(reverse("volunteers:today"))  # the session and the translations warm
    few, body = _queries(client)
    assert body.count("老人") == 3
    _give(liu, compound_a, 3, 30)
    with django_assert_max_num_queries(few):
        many, body = _queries(client)
    assert many == few
    assert body.count("老人") == 30
    # A carried and a waiting delivery for each of the 30 buildings, as before.
    tasks = registry.tasks_for(liu.user, timezone.localdate())
    keys = {t.key for t in tasks}
    buildings = Building.objects.filter(
        compound=compound_a, number__in=[str(100 + n) for n in range(30)]
    )
    assert len(buildings) == 30
    for building in buildings:
        assert f"delivery:{building.pk}" in keys and f"delivery-wait:{building.pk}" in keys
    carried = next(t for t in tasks if t.key.startswith("delivery:"))
    assert carried.detail.startswith("1")  # one order carried to each building


def test_a_delivery_carried_out_of_reach_stays_on_the_list(login, liu, compound_a):
    """The orders the volunteer carries are theirs wherever they are (my_deliveries); those
    waiting are only the ones in the compounds the volunteer sees."""
    from tests.factories import CompoundFactory

    elsewhere = CompoundFactory()
    building = Building.objects.create(compound=elsewhere, number="9")
    household = Household.objects.create(compound=elsewhere, building=building, room="101")
    OrderFactory(household=household, status=OrderStatus.OUT_FOR_DELIVERY, claimed_by=liu.user)
    OrderFactory(household=household, status=OrderStatus.PURCHASED)
    keys = {t.key for t in registry.tasks_for(liu.user, timezone.localdate())}
    assert f"delivery:{building.pk}" in keys
    assert f"delivery-wait:{building.pk}" not in keys
