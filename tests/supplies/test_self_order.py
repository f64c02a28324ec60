"""Residents ordering through the compound's link: a code to a number on the register, limited
tries and codes, nothing told about numbers that are not on it, the order itself."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from messaging.models import Message
from residents.models import LinkCode as SelfOrderCode  # the codes live in residents
from supplies import rules, services
from supplies.models import Order, OrderLink
from tests.factories import ResidentFactory
from wuyi.lib.errors import Refused

pytestmark = pytest.mark.clock  # which day it is matters: make test-clock

PHONE = "13912345678"


@pytest.fixture
def link(secretary_a, compound_a):
    return services.order_link_get_or_create(by=secretary_a, compound=compound_a)


@pytest.fixture
def resident(compound_a, households):
    return ResidentFactory(compound=compound_a, household=households[0], phone=PHONE)


@pytest.fixture
def self_sms(sms):
    from messaging.models import SmsTemplate
    from supplies import notify

    SmsTemplate.objects.filter(name=notify.SELF_ORDER).update(code="SMS_8", approved=True)
    return sms


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """The Celery worker in this process: what a block queues on commit runs as it ends."""
    from wuyi.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    try:
        yield lambda: django_capture_on_commit_callbacks(execute=True)
    finally:
        app.conf.task_always_eager = False
        app.conf.task_eager_propagates = False


@pytest.fixture
def ask(link, worker):
    """ask(phone, household, **door) -> the request, its lookup run by the worker."""

    def _ask(phone, household, **door):
        with worker():
            return services.self_code_request(
                link=link,
                phone=phone,
                building=household.building,
                unit=door.get("unit", household.unit),
                room=door.get("room", household.room),
            )

    return _ask


def _address(household) -> dict:
    return {"building": household.building_id, "unit": household.unit, "room": household.room}


def _code():
    return Message.objects.filter(purpose="supplies_self_order").latest("pk").variables["code"]


def test_one_link_per_compound_and_only_the_secretary(secretary_a, volunteer, compound_a, link):
    assert services.order_link_get_or_create(by=secretary_a, compound=compound_a) == link
    with pytest.raises(PermissionDenied):
        services.order_link_get_or_create(by=volunteer, compound=compound_a)


def test_code_proves_the_household(self_sms, link, resident, households, ask):
    ask(PHONE, households[0])
    assert services.self_code_check(link=link, phone=PHONE, code=_code()) == households[0]
    # A code is used once.
    with pytest.raises(Refused):
        services.self_code_check(link=link, phone=PHONE, code=_code())


def test_the_door_is_read_as_the_register_writes_it(self_sms, link, resident, households, ask):
    # "1单元101室" in the room box, the unit box empty: the register's 1 / 101.
    home = households[0]
    ask(PHONE, home, unit="", room=f"{home.unit}单元{home.room}室")
    assert services.self_code_check(link=link, phone=PHONE, code=_code()) == home


def test_unknown_number_gets_nothing_and_learns_nothing(self_sms, link, resident, households, ask):
    ask("13700000000", households[0])
    # A number on the register, at another door than its own, gets nothing either.
    ask(PHONE, households[1])
    assert not Message.objects.exists()
    assert SelfOrderCode.objects.filter(looked_up_at__isnull=False).count() == 2
    for phone in ("13700000000", PHONE):
        with pytest.raises(Refused) as refused:
            services.self_code_check(link=link, phone=phone, code="123456")
        assert refused.value.field == "code"


def test_the_lookup_is_done_once(self_sms, link, resident, households, ask):
    row = ask(PHONE, households[0])
    # The worker retried (it died after sending): nothing more is sent.
    assert services.self_code_deliver(code_id=row.pk) == "already looked up"
    assert Message.objects.filter(purpose="supplies_self_order").count() == 1


def test_a_request_the_worker_reaches_too_late_sends_nothing(self_sms, link, resident, households):
    row = services.self_code_request(
        link=link, phone=PHONE, building=households[0].building, unit="1", room="101"
    )
    later = timezone.now() + datetime.timedelta(minutes=rules.SELF_CODE_MINUTES + 1)
    assert services.self_code_deliver(code_id=row.pk, now=later).startswith("not")
    assert not Message.objects.exists()


def test_a_building_of_another_compound_is_refused(self_sms, link, compound_b):
    with pytest.raises(Refused) as refused:
        services.self_code_request(
            link=link, phone=PHONE, building=compound_b.buildings.get(), unit="1", room="101"
        )
    assert refused.value.field == "building"
    assert not SelfOrderCode.objects.exists()


def test_wrong_code_limited_attempts(self_sms, link, resident, households, ask):
    ask(PHONE, households[0])
    code = _code()
    wrong = "000000" if code != "000000" else "111111"
    for _n in range(rules.SELF_CODE_ATTEMPTS):
        with pytest.raises(Refused):
            services.self_code_check(link=link, phone=PHONE, code=wrong)
    with pytest.raises(Refused):
        services.self_code_check(link=link, phone=PHONE, code=code)


def test_codes_per_hour_and_expiry(self_sms, link, resident, households, ask):
    for _n in range(rules.SELF_CODES_PER_HOUR):
        ask(PHONE, households[0])
    with pytest.raises(Refused) as refused:
        ask(PHONE, households[0])
    assert refused.value.field == "phone"
    assert SelfOrderCode.objects.count() == rules.SELF_CODES_PER_HOUR
    later = timezone.now() + datetime.timedelta(minutes=rules.SELF_CODE_MINUTES + 1)
    with pytest.raises(Refused):
        services.self_code_check(link=link, phone=PHONE, code=_code(), now=later)


def test_codes_per_door_an_hour(self_sms, link, resident, households, ask):
    """Numbers made up for one door count against it, registered or not."""
    for n in range(rules.SELF_CODES_PER_DOOR_HOUR):
        ask(f"1370000{n:04d}", households[0])
    with pytest.raises(Refused) as refused:
        ask(PHONE, households[0])
    assert refused.value.field == "room"
    assert not Message.objects.exists()
    # Another door is not held up by it.
    ask("13700009999", households[1])


def test_revoked_link_is_refused(self_sms, secretary_a, link, resident, buy, households):
    services.order_link_revoke(by=secretary_a, link=link)
    with pytest.raises(Refused):
        services.self_code_request(
            link=link, phone=PHONE, building=households[0].building, unit="1", room="101"
        )
    with pytest.raises(PermissionDenied):
        services.order_submit(
            by=None,
            link=link,
            household=households[0],
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key="k",
        )
    assert not Order.objects.exists()


def test_link_of_another_compound_cannot_order_for_this_one(compound_b, buy, households):
    from tests.factories import OrderLinkFactory

    other = OrderLinkFactory(compound=compound_b)
    with pytest.raises(PermissionDenied):
        services.order_submit(
            by=None,
            link=other,
            household=households[0],
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key="k",
        )
    assert not Order.objects.exists()


def test_resident_orders_through_the_page(
    self_sms, client, link, resident, buy, households, worker
):
    url = reverse("supplies:self", args=[link.token])
    assert client.get(url).status_code == 200
    with worker():
        page = client.post(url, {"action": "phone", "phone": PHONE, **_address(households[0])})
    assert page.status_code == 200 and "id_code" in page.text
    bad = client.post(url, {"action": "code", "phone": PHONE, "code": "x"})
    assert bad.status_code == 400
    assert client.post(url, {"action": "code", "phone": PHONE, "code": _code()}).status_code == 302
    page = client.get(url)
    assert buy.title in page.text and households[0].address in page.text
    rice = buy.items.order_by("position").first()
    client.post(url, {"action": "order", "buy": buy.pk, "client_key": "abc", f"q{rice.pk}": "2"})
    order = Order.objects.get()
    assert order.household == households[0] and order.amount_due == 90
    assert order.created_by is None
    assert "已提交" in client.get(url).text or "Submitted" in client.get(url).text


def test_unknown_or_stopped_link_is_404(client, secretary_a, link):
    assert client.get(reverse("supplies:self", args=["nope"])).status_code == 404
    services.order_link_revoke(by=secretary_a, link=link)
    assert client.get(reverse("supplies:self", args=[link.token])).status_code == 404


def test_links_page(login, secretary_a, volunteer, compound_a):
    client = login(secretary_a)
    assert client.get(reverse("supplies:links")).status_code == 200
    client.post(reverse("supplies:links"), {"compound": compound_a.pk, "action": "create"})
    assert OrderLink.objects.filter(compound=compound_a, active=True).count() == 1
    assert login(volunteer).get(reverse("supplies:links")).status_code == 403


def test_old_codes_are_purged(self_sms, link, resident, households, ask):
    from residents.tasks import purge_link_codes

    ask(PHONE, households[0])
    SelfOrderCode.objects.update(sent_at=timezone.now() - datetime.timedelta(days=2))
    ask("13700000000", households[0])
    assert purge_link_codes() == "deleted 1 link codes"
    assert SelfOrderCode.objects.count() == 1


def test_demo_texts_are_the_migrations_texts():
    import importlib

    from supplies import notify

    first = importlib.import_module("supplies.migrations.0002_sms_templates")
    second = importlib.import_module("supplies.migrations.0004_self_order_sms_template")
    assert {**first.TEMPLATES, **second.TEMPLATES} == notify.TEXTS


# ----------------------------------------------------------------------------- issue 17, item 7


def test_one_client_cannot_send_more_than_the_link_cap_an_hour(
    self_sms, settings, client, link, compound_a, worker
):
    """Anyone holding the link could text every number on the register, three codes an hour
    each (282 SMS an hour from one client). The link now sends at most its cap an hour,
    whoever asks and for whichever number and door."""
    import time_machine

    from tests.factories import HouseholdFactory

    settings.WUYI_SELF_CODES_PER_LINK_HOUR = 5
    building = compound_a.buildings.order_by("number").first()
    homes = [
        HouseholdFactory(compound=compound_a, building=building, unit="3", room=str(300 + n))
        for n in range(8)
    ]
    for n, home in enumerate(homes):
        ResidentFactory(compound=compound_a, household=home, phone=f"1390000{n:04d}")
    url = reverse("supplies:self", args=[link.token])
    answers = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for n, home in enumerate(homes):
            with worker():
                page = client.post(
                    url, {"action": "phone", "phone": f"1390000{n:04d}", **_address(home)}
                )
            answers.append(page.status_code)
        sent = Message.objects.filter(purpose="supplies_self_order").count()
        assert sent == 5
        assert answers == [200] * 5 + [400] * 3
        assert "小时" in page.text  # says to try again later
        # An hour later the link sends again.
        clock.shift(datetime.timedelta(hours=1, minutes=1))
        with worker():
            page = client.post(
                url, {"action": "phone", "phone": "13900000007", **_address(homes[7])}
            )
        assert page.status_code == 200
        assert Message.objects.filter(purpose="supplies_self_order").count() == 6


def test_the_page_answers_alike_and_looks_nothing_up(
    self_sms, client, link, resident, households, django_capture_on_commit_callbacks
):
    """The page used to tell an outsider whether a number is on the register by its timing
    (263 ms registered, 124 ms not: the lookup and the SMS were in the request). Now the
    request looks nothing up; the worker does, after it has answered."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("supplies:self", args=[link.token])
    bodies = []
    for phone in (PHONE, "13700000000"):
        with (
            django_capture_on_commit_callbacks(execute=False),
            CaptureQueriesContext(connection) as queries,
        ):
            page = client.post(url, {"action": "phone", "phone": phone, **_address(households[0])})
        assert page.status_code == 200
        # (The request row itself is residents_linkcode: the codes live in residents.)
        looked_up = [
            q["sql"] for q in queries if re.search(r'"residents_(resident|household)"', q["sql"])
        ]
        assert not looked_up, looked_up
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page.text)
        bodies.append(body.replace(phone, "PHONE"))
    assert bodies[0] == bodies[1]
    assert not Message.objects.exists()
