"""The household's own link (issue 22, item 3): sent by the secretary to the household's
numbers, opened with a code sent to one of them (the ordering link's check, residents.codes),
then the apps' actions: order supplies, ask for an escort, send a need, report health in
quarantine, see the latest results, read the residents' code. Every action logged; renewing
voids the old link, which then answers exactly as an unknown one; a household sees nothing of
any other."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from residents import codes
from residents import household as links
from residents.models import HouseholdActionLog, HouseholdLink
from tests.factories import HouseholdFactory, ResidentFactory
from wuyi.lib.errors import Refused

pytestmark = pytest.mark.clock

PHONE = "13912345678"
WIFE = "13812345678"
NEIGHBOUR = "13712345678"


@pytest.fixture
def sms(sms_outbox):
    from messaging.models import SmsTemplate
    from residents import notify

    SmsTemplate.objects.filter(name__in=list(notify.TEXTS)).update(code="SMS_7", approved=True)
    return sms_outbox


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
def home(compound_a):
    household = HouseholdFactory(compound=compound_a, unit="1", room="101")
    ResidentFactory(compound=compound_a, household=household, name="张建国", phone=PHONE)
    ResidentFactory(compound=compound_a, household=household, name="李秀兰", phone=WIFE)
    return household


@pytest.fixture
def neighbour(compound_a):
    household = HouseholdFactory(compound=compound_a, unit="1", room="102")
    ResidentFactory(compound=compound_a, household=household, name="王邻居", phone=NEIGHBOUR)
    return household


def _renew(secretary, household) -> HouseholdLink:
    link, _sent = links.household_link_renew(
        by=secretary, household=household, site="https://wuyi.example"
    )
    return link


def _code() -> str:
    from messaging.models import Message

    return Message.objects.filter(purpose="residents_household_link").latest("pk").variables["code"]


def _open(client, worker, link, phone=PHONE):
    """The household proves itself on the link's page; returns the page after the code."""
    url = reverse("residents:household_link", args=[link.token])
    with worker():
        page = client.post(url, {"action": "phone", "phone": phone})
    assert page.status_code == 200 and "id_code" in page.text
    done = client.post(url, {"action": "code", "phone": phone, "code": _code()})
    assert done.status_code == 302
    return client.get(url)


def _page(response) -> str:
    """A page without its per-response CSRF token, its own address (the language form's
    `next`) said the same way whatever the token."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return re.sub(r"/residents/h/[^/\"]+/", "/residents/h/TOKEN/", text)


def _action(link, key: str) -> str:
    return reverse("residents:household_action", args=[link.token, key])


# ----------------------------------------------------------------------------- the link


def test_secretary_sends_the_link_to_each_number_from_the_household_page(
    sms, login, secretary_a, home
):
    from messaging.models import Message, Recipient

    client = login(secretary_a)
    page = client.get(reverse("residents:household", args=[home.pk]))
    assert page.status_code == 200 and 'id="household-link"' in page.text
    done = client.post(reverse("residents:household_link_renew", args=[home.pk]))
    assert done.status_code == 302
    link = HouseholdLink.objects.get(household=home, active=True)
    sent = Recipient.objects.filter(
        message__in=Message.objects.filter(template__name="家庭服务链接")
    )
    assert sorted(sent.values_list("phone", flat=True)) == [WIFE, PHONE]
    assert all(link.token in str(r.message.variables) for r in sent)
    # The token is in the SMS only: the household's page never shows it.
    assert link.token not in client.get(reverse("residents:household", args=[home.pk])).text


def test_only_the_secretary_renews_and_only_her_households(
    login, volunteer, secretary_b, district_staff, home
):
    url = reverse("residents:household_link_renew", args=[home.pk])
    assert login(volunteer).post(url).status_code == 404
    assert login(secretary_b).post(url).status_code == 404
    assert login(district_staff).post(url).status_code == 403
    assert not HouseholdLink.objects.exists()


LONG_SITE = "https://wuyi-fangyi.chengguan.lanzhou.gov.cn"  # 42 characters


def test_an_address_too_long_for_an_sms_refuses_and_keeps_the_old_link(
    sms, login, secretary_a, home, settings
):
    """The link goes out as one SMS value (35 characters at most): a longer public address
    used to void the old link and text nothing; now the secretary reads why and the old link
    still opens."""
    from messaging.models import Message

    old = _renew(secretary_a, home)
    texted = Message.objects.count()
    settings.WUYI_PUBLIC_URL = LONG_SITE
    client = login(secretary_a)
    done = client.post(reverse("residents:household_link_renew", args=[home.pk]), follow=True)
    assert "WUYI_PUBLIC_URL" in done.text and LONG_SITE in done.text
    assert list(HouseholdLink.objects.filter(household=home, active=True)) == [old]
    assert Message.objects.count() == texted


def test_start_up_warns_of_an_address_too_long_for_an_sms(settings):
    from residents.checks import public_address_fits_an_sms

    settings.WUYI_PUBLIC_URL = LONG_SITE
    assert [m.id for m in public_address_fits_an_sms()] == ["residents.W001"]
    settings.WUYI_PUBLIC_URL = "https://wuyi.example.gov.cn/"
    assert public_address_fits_an_sms() == []
    settings.WUYI_PUBLIC_URL = ""
    assert public_address_fits_an_sms() == []


def test_a_household_without_a_mobile_gets_no_link(secretary_a, compound_a):
    household = HouseholdFactory(compound=compound_a)
    ResidentFactory(compound=compound_a, household=household, phone="")
    with pytest.raises(Refused):
        _renew(secretary_a, household)
    assert not HouseholdLink.objects.exists()


def test_renewing_voids_the_old_link_which_answers_as_an_unknown_one(
    sms, client, worker, secretary_a, home
):
    old = _renew(secretary_a, home)
    _open(client, worker, old)
    new = _renew(secretary_a, home)
    assert HouseholdLink.objects.filter(household=home, active=True).get() == new
    unknown = client.get(reverse("residents:household_link", args=["x" * 43]))
    voided = client.get(reverse("residents:household_link", args=[old.token]))
    assert voided.status_code == unknown.status_code == 404
    assert _page(voided) == _page(unknown)
    # Its actions too, even for the browser that had proved the household through it.
    action = client.get(_action(old, "care.need"))
    unknown_action = client.get(reverse("residents:household_action", args=["x", "care.need"]))
    assert action.status_code == 404 and _page(action) == _page(unknown_action)
    with pytest.raises(Refused):
        links.household_code_request(link=old, phone=PHONE)
    # The new link asks for a code again.
    assert client.get(_action(new, "care.need")).status_code == 302


def test_the_code_opens_the_link_and_shows_the_actions(sms, client, worker, secretary_a, home):
    link = _renew(secretary_a, home)
    page = _open(client, worker, link)
    assert home.address in page.text
    for key in ("supplies.order", "medical.escort", "care.need", "screening.results"):
        assert _action(link, key) in page.text
    # No one in quarantine: no health report.
    assert _action(link, "screening.health") not in page.text
    assert HouseholdActionLog.objects.filter(link=link, action="opened").count() == 1
    assert "打开链接" in page.text  # the log, in words


def test_a_number_of_another_household_gets_no_code(
    sms, client, worker, secretary_a, home, neighbour
):
    from messaging.models import Message

    link = _renew(secretary_a, home)
    url = reverse("residents:household_link", args=[link.token])
    with worker():
        asked = client.post(url, {"action": "phone", "phone": NEIGHBOUR})
    assert asked.status_code == 200 and "id_code" in asked.text
    assert not Message.objects.filter(
        purpose="residents_household_link", template__name="家庭链接验证码"
    ).exists()
    wrong = client.post(url, {"action": "code", "phone": NEIGHBOUR, "code": "000000"})
    assert wrong.status_code == 400
    assert client.get(_action(link, "care.need")).status_code == 302


def test_wrong_codes_are_limited_and_codes_share_the_ordering_links_check(
    sms, worker, secretary_a, home
):
    link = _renew(secretary_a, home)
    with worker():
        links.household_code_request(link=link, phone=PHONE)
    for _n in range(codes.CODE_ATTEMPTS):
        with pytest.raises(Refused):
            links.household_code_check(link=link, phone=PHONE, code="x")
    with pytest.raises(Refused):
        links.household_code_check(link=link, phone=PHONE, code=_code())
    # Three codes an hour per number, as on the ordering link.
    for _n in range(codes.CODES_PER_HOUR - 1):
        links.household_code_request(link=link, phone=PHONE)
    with pytest.raises(Refused):
        links.household_code_request(link=link, phone=PHONE)


def test_a_proved_household_cannot_use_another_households_link(
    sms, client, worker, secretary_a, home, neighbour
):
    _open(client, worker, _renew(secretary_a, home))
    other = _renew(secretary_a, neighbour)
    page = client.get(reverse("residents:household_link", args=[other.token]))
    assert "id_phone" in page.text and neighbour.address not in page.text
    assert client.get(_action(other, "care.need")).status_code == 302


def test_an_unknown_action_is_404(sms, client, worker, secretary_a, home):
    link = _renew(secretary_a, home)
    _open(client, worker, link)
    assert client.get(_action(link, "nope")).status_code == 404


# ----------------------------------------------------------------------------- the actions


@pytest.fixture
def opened(sms, client, worker, secretary_a, home, neighbour):
    """The household's link, opened in `client`; the neighbour has data of every kind."""
    link = _renew(secretary_a, home)
    _open(client, worker, link)
    return link


def test_send_a_need_reaches_the_secretary_and_is_logged(
    opened, client, home, neighbour, secretary_a, django_capture_on_commit_callbacks
):
    from accounts.models import Alert
    from care.models import Need

    zhang = home.residents.get(name="张建国")
    wang = neighbour.residents.get()
    Need.objects.create(compound_id=wang.compound_id, resident=wang, kind="note", text="邻居的事")
    url = _action(opened, "care.need")
    page = client.get(url)
    assert page.status_code == 200 and "邻居的事" not in page.text and "王邻居" not in page.text
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"resident": zhang.pk, "kind": "supplies", "text": "降压药没了"})
    assert done.status_code == 302
    need = Need.objects.get(resident=zhang)
    assert need.text == "降压药没了" and need.created_by is None
    assert Alert.objects.filter(user=secretary_a).exists()
    entry = HouseholdActionLog.objects.get(link=opened, action="care.need")
    assert "降压药没了" in entry.detail
    assert "降压药没了" in client.get(url).text
    # Someone of another household, control characters, 10⁵ characters: refused, nothing kept.
    for data in (
        {"resident": wang.pk, "kind": "note", "text": "x"},
        {"resident": zhang.pk, "kind": "note", "text": "a\x00b"},
        {"resident": zhang.pk, "kind": "note", "text": "长" * 100_000},
        {"resident": zhang.pk, "kind": "escort", "text": "x"},
        {"resident": zhang.pk, "kind": "note", "text": "  "},
    ):
        assert client.post(url, data).status_code == 400
    assert Need.objects.filter(resident__household=home).count() == 1
    assert HouseholdActionLog.objects.filter(action="care.need").count() == 1


def test_ask_for_an_escort_goes_to_the_secretary_to_confirm(
    opened, client, home, neighbour, secretary_a, django_capture_on_commit_callbacks
):
    from accounts.models import Alert
    from medical.models import Escort, EscortStatus
    from tests.factories import EscortFactory

    zhang = home.residents.get(name="张建国")
    url = _action(opened, "medical.escort")
    theirs = EscortFactory(resident=neighbour.residents.get())
    page = client.get(url)
    assert page.status_code == 200 and "王邻居" not in page.text
    theirs.delete()
    at = timezone.localtime() + datetime.timedelta(days=1)
    data = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "scheduled_at": at.strftime("%Y-%m-%dT%H:%M"),
        "notes": "轮椅",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302
    escort = Escort.objects.get()
    assert escort.status == EscortStatus.REQUESTED and escort.ambulance is None
    assert escort.resident == zhang and escort.created_by is None
    assert Alert.objects.filter(user=secretary_a, link__contains=str(escort.pk)).exists()
    # A double submit is one request; an emergency and the past are refused.
    assert client.post(url, data).status_code == 302
    assert Escort.objects.count() == 1
    assert client.post(url, {**data, "kind": "emergency"}).status_code == 400
    past = (timezone.localtime() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(url, {**data, "scheduled_at": past}).status_code == 400
    assert client.post(url, {**data, "scheduled_at": "tomorrow"}).status_code == 400
    assert Escort.objects.count() == 1
    assert HouseholdActionLog.objects.filter(link=opened, action="medical.escort").count() == 2


def test_order_supplies_through_the_household_link(
    opened, client, home, neighbour, secretary_a, community_a, compound_a
):
    from supplies import services
    from supplies.models import Order
    from tests.factories import CatalogueItemFactory, SupplierFactory

    supplier = SupplierFactory(compound=compound_a)
    rice = CatalogueItemFactory(compound=compound_a, supplier=supplier, name="大米", price=45)
    buy = services.group_buy_create(
        by=secretary_a,
        community=community_a,
        supplier=supplier,
        title="粮油团购",
        compounds=[compound_a],
        deadline=timezone.now() + datetime.timedelta(hours=20),
        delivery_date=timezone.localdate() + datetime.timedelta(days=2),
        items=[(rice, None, 5)],
    )
    item = buy.items.get()
    services.order_submit(
        by=secretary_a, household=neighbour, group_buy=buy, quantities={item.pk: 1}, client_key="n"
    )
    url = _action(opened, "supplies.order")
    page = client.get(url)
    assert page.status_code == 200 and "粮油团购" in page.text
    assert 'id="my-orders"><li class="muted">' in page.text  # none: not the neighbour's
    client.post(url, {"buy": buy.pk, "client_key": "abc", f"q{item.pk}": "2"})
    order = Order.objects.get(household=home)
    assert order.amount_due == 90 and order.created_by is None
    assert HouseholdActionLog.objects.filter(link=opened, action="supplies.order").count() == 1
    # A voided link cannot order, even with the order's form at hand.
    opened.active = False
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied from the service
        services.order_submit(
            by=None,
            household_link=opened,
            household=home,
            group_buy=buy,
            quantities={item.pk: 1},
            client_key="z",
        )


def test_results_show_this_household_only(opened, client, home, neighbour, compound_a):
    from screening.models import Result
    from tests.factories import SampleFactory, TubeFactory

    zhang = home.residents.get(name="张建国")
    wang = neighbour.residents.get()
    tube = TubeFactory(compound=compound_a, result=Result.NEGATIVE)
    SampleFactory(compound=compound_a, tube=tube, resident=zhang)
    SampleFactory(compound=compound_a, tube=tube, resident=wang)
    page = client.get(_action(opened, "screening.results"))
    assert page.status_code == 200
    assert "张建国" in page.text and "李秀兰" in page.text and "王邻居" not in page.text
    assert re.search(r"张建国</strong> <span>(阴性|Negative)", page.text)


SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
SAMPLING_NOW = datetime.datetime(2026, 12, 3, 7, 0, tzinfo=SHANGHAI)


@pytest.fixture
def sampling_day():
    """07:00 on the first day of round 6 (before `opened`, so the code is sent then too)."""
    with time_machine.travel(SAMPLING_NOW, tick=False):
        yield SAMPLING_NOW.date()


def _slot(compound, testing_round, place, hour, buildings=()):
    from tests.factories import SamplingSlotFactory

    start = SAMPLING_NOW.replace(hour=hour)
    slot = SamplingSlotFactory(
        compound=compound,
        round=testing_round,
        place=place,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
    )
    slot.buildings.set(buildings)
    return slot


def test_the_household_sees_its_buildings_sampling_slot(
    sampling_day, opened, client, secretary_a, home, compound_a, compound_b
):
    from tests.factories import TestingRoundFactory

    round6 = TestingRoundFactory(compound=compound_a, number=6)
    round5 = TestingRoundFactory(compound=compound_a, number=5, status="closed")
    other = compound_a.buildings.exclude(pk=home.building_id).get()
    _slot(compound_a, round6, "东门广场", 8, [home.building])
    _slot(compound_a, round6, "西门岗亭", 8, [other])  # another building's
    _slot(compound_a, round6, "南门", 4, [home.building])  # over at 06:00
    _slot(compound_a, round5, "旧采样点", 9, [home.building])  # a finished round's
    _slot(compound_b, round6, "北门", 9)  # another compound's
    url = reverse("residents:household_link", args=[opened.token])
    page = client.get(url)
    assert page.status_code == 200 and 'id="household-info"' in page.text
    assert re.search(r"<strong>东门广场</strong> 12-03 08:00–10:00", page.text)
    for elsewhere in ("西门岗亭", "南门", "旧采样点", "北门"):
        assert elsewhere not in page.text
    # A slot for every building shows too, in time order.
    _slot(compound_a, round6, "中心花园", 7, [])
    page = client.get(url).text
    assert page.index("中心花园") < page.index("东门广场")
    # Only to the household that proved itself: a stranger with the link sees neither.
    from django.test import Client

    stranger = Client().get(url)
    assert stranger.status_code == 200 and "东门广场" not in stranger.text
    # A voided link answers 404 as before, slots or not.
    _renew(secretary_a, home)
    voided = client.get(url)
    assert voided.status_code == 404 and "东门广场" not in voided.text


def test_a_household_without_a_slot_sees_nothing_of_sampling(
    sampling_day, opened, client, home, compound_a
):
    from tests.factories import TestingRoundFactory

    url = reverse("residents:household_link", args=[opened.token])
    assert 'id="household-info"' not in client.get(url).text  # no round
    round6 = TestingRoundFactory(compound=compound_a, number=6)
    other = compound_a.buildings.exclude(pk=home.building_id).get()
    _slot(compound_a, round6, "西门岗亭", 8, [other])
    page = client.get(url)
    assert page.status_code == 200 and home.address in page.text
    assert 'id="household-info"' not in page.text and "西门岗亭" not in page.text


def test_health_report_only_while_in_quarantine(opened, client, home, compound_a):
    from screening.models import HealthReport
    from tests.factories import QuarantineFactory

    url = _action(opened, "screening.health")
    assert client.get(url).status_code == 404
    zhang = home.residents.get(name="张建国")
    q = QuarantineFactory(compound=compound_a, resident=zhang)
    assert client.get(url).status_code == 200
    assert url in client.get(reverse("residents:household_link", args=[opened.token])).text
    assert client.post(url, {"quarantine": q.pk, "temperature": "36.6"}).status_code == 302
    assert HealthReport.objects.get(quarantine=q).temperature == Decimal("36.6")
    bad = {"quarantine": q.pk, "temperature": "36.6", "symptoms": "咳\x07嗽"}
    assert client.post(url, bad).status_code == 400
    assert client.post(url, {"quarantine": q.pk, "temperature": "99"}).status_code == 400
    assert HouseholdActionLog.objects.filter(link=opened, action="screening.health").count() == 1


def test_residents_code_and_notices(opened, client, compound_a):
    from tests.factories import CampaignTextFactory

    url = _action(opened, "campaign.notices")
    assert client.get(url).status_code == 200
    CampaignTextFactory(compound=compound_a, kind="code")
    page = client.get(url)
    assert "居民守则（示例）" in page.text and "配合核酸检测" in page.text


def test_the_secretary_sees_what_was_done_through_the_link(
    opened, client, login, secretary_a, home
):
    zhang = home.residents.get(name="张建国")
    client.post(
        _action(opened, "care.need"), {"resident": zhang.pk, "kind": "note", "text": "谢谢"}
    )
    page = login(secretary_a).get(reverse("residents:household", args=[home.pk]))
    assert 'id="household-log"' in page.text and "谢谢" in page.text


def test_demo_texts_are_the_migrations_texts():
    import importlib

    from residents import notify

    migration = importlib.import_module("residents.migrations.0013_household_link_sms_templates")
    assert migration.TEMPLATES == notify.TEXTS


def test_an_action_is_about_a_current_member_and_needs_the_link_in_use(
    home, neighbour, secretary_a
):
    """The two checks every household action makes (care's need, medical's escort request):
    one home, residents.household."""
    from django.db import transaction

    link = _renew(secretary_a, home)
    zhang = home.residents.get(name="张建国")
    assert links.member_of(link, zhang, "谁？") == zhang
    for someone in (None, neighbour.residents.get()):
        with pytest.raises(Refused) as refused:
            links.member_of(link, someone, "谁？")
        assert refused.value.errors == {"resident": "谁？"}
    zhang.left_on = timezone.localdate()
    zhang.save(update_fields=["left_on"])
    with pytest.raises(Refused):
        links.member_of(link, zhang, "谁？")  # moved out: no longer the household's
    with transaction.atomic():
        links.lock_link(link)
    _renew(secretary_a, home)  # the old link is voided
    with pytest.raises(Refused), transaction.atomic():
        links.lock_link(link)
