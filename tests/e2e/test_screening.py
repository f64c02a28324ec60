"""The lab's sheet with one positive pool, then the retest sheet with one positive single tube:
the compound turns sealed, its clock shows 0 days, the secretary's SMS is in the outbox, and the
two close contacts are on the overdue list the next morning."""

import datetime
import uuid

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-Wuyi-2026"


def log_in(page, username):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def upload(page, round_pk, path):
    page.goto(f"/screening/rounds/{round_pk}/import/")
    page.set_input_files("#id_file", str(path))
    page.click("#preview-button")
    expect(page.locator("#preview")).to_be_visible()
    page.click("#commit")
    expect(page.locator(".messages")).to_contain_text("结果已导入")


def test_positive_pool_then_positive_single_tube(
    new_page, tmp_path, compound_a, secretary_a, district_staff, volunteer
):
    from compounds.models import Compound, ControlStatus
    from messaging.models import Message, SmsTemplate
    from screening import rules, services
    from screening.models import Retest, Tube
    from tests.factories import HouseholdFactory, ResidentFactory
    from tests.residents.helpers import make_id

    SmsTemplate.objects.filter(name="新增阳性病例通知").update(code="SMS_C", approved=True)
    secretary_a.phone = "13800000001"
    secretary_a.save()
    today = timezone.localdate()
    testing_round = services.round_open(
        district_id=compound_a.district_id,
        number=6,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=1),
        by=district_staff,
    )
    residents = []
    for i in range(12):
        if i % 2 == 0:
            household = HouseholdFactory(compound=compound_a)
        r = ResidentFactory(compound=compound_a, household=household, name=f"居民{i}")
        r.set_national_id(make_id(i + 1, born=f"198001{i + 1:02d}"))
        r.save()
        residents.append(r)

    # The sampler, on a phone: scans the tube, then the first person's code.
    phone = new_page(PHONE)
    log_in(phone, volunteer.username)
    phone.goto(f"/screening/rounds/{testing_round.pk}/compounds/{compound_a.pk}/sample/")
    phone.fill("#id_barcode", "GL60001")
    phone.click("#tube-form button")
    expect(phone.locator("h1")).to_contain_text("GL60001")
    phone.fill("#id_code", rules.resident_code(residents[0].pk))
    phone.click("#scan-form button")
    expect(phone.locator("#people")).to_contain_text("居民0")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    pool = Tube.objects.get(barcode="GL60001")
    for r in residents[1:10]:
        services.sample_add(tube_id=pool.pk, resident_id=r.pk, key=uuid.uuid4().hex, by=volunteer)
    pool.refresh_from_db()
    assert pool.status == "closed"

    # The lab's sheet: the pool is positive.
    sheet = tmp_path / "results.csv"
    sheet.write_text("检测结果,试管编码,送检单位\n阳性,GL60001,市一院\n", encoding="utf-8")
    desk = new_page(DESKTOP)
    log_in(desk, district_staff.username)
    upload(desk, testing_round.pk, sheet)
    assert Retest.objects.filter(pool=pool, status="pending").count() == 10
    assert Compound.objects.get(pk=compound_a.pk).status == ControlStatus.NORMAL

    # Single-tube retests at the door, then the retest sheet: residents[0] is positive.
    for i, r in enumerate(residents[:10]):
        tube = services.tube_open(
            round_id=testing_round.pk,
            compound_id=compound_a.pk,
            barcode=f"SG{i:05d}",
            kind="single",
            by=volunteer,
        )
        Tube.objects.filter(pk=tube.pk).update(retest=True)
        services.sample_add(tube_id=tube.pk, resident_id=r.pk, key=uuid.uuid4().hex, by=volunteer)
    retest = tmp_path / "retest.csv"
    lines = ["身份证号,检测结果"] + [
        f"{r.national_id},{'阳性' if i == 0 else '阴性'}" for i, r in enumerate(residents[:10])
    ]
    retest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    upload(desk, testing_round.pk, retest)

    compound = Compound.objects.get(pk=compound_a.pk)
    assert compound.status == ControlStatus.SEALED
    assert compound.clock.days_without_case == 0
    desk.goto(f"/compounds/{compound.pk}/")
    expect(desk.locator("body")).to_contain_text("封控区")
    assert Message.objects.filter(purpose="screening_case").exists()

    # Two close contacts added on the case's page, in home quarantine.
    from screening.models import Quarantine

    case = Quarantine.objects.get(kind="case")
    secretary = new_page(DESKTOP)
    log_in(secretary, secretary_a.username)
    for r in residents[10:12]:
        secretary.goto(f"/screening/cases/{case.pk}/")
        secretary.select_option("#id_resident", str(r.pk))
        secretary.click("#contact-form button")
    expect(secretary.locator("#contacts li")).to_have_count(2)

    # The next morning nobody has reported: both are on the overdue list.
    morning = timezone.make_aware(
        datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(8, 30))
    )
    with time_machine.travel(morning, tick=True):
        log_in(secretary, secretary_a.username)  # yesterday's session has ended
        secretary.goto("/screening/cases/")
        expect(secretary.locator("#overdue")).to_contain_text("居民10")
        expect(secretary.locator("#overdue")).to_contain_text("居民11")
