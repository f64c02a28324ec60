"""The residents' code and the appeal letter: written once by district staff, sent by a
secretary to a compound's residents as an SMS campaign (messaging's audience of the whole
compound) and printed as an A4 notice."""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from campaign import services
from campaign.models import TextKind
from messaging.models import Message, SmsTemplate
from tests.conftest import send_queued
from tests.factories import ResidentFactory
from wuyi.lib.errors import Refused


@pytest.fixture
def code(district, district_staff):
    return services.text_save(
        district=district,
        kind=TextKind.CODE,
        title="居民守则（示例）",
        body="一、配合核酸检测。\n二、非必要不外出。",
        by=district_staff,
    )


@pytest.fixture
def approved(db):
    SmsTemplate.objects.filter(name=services.TEXT_SMS).update(approved=True, code="SMS_1")


@pytest.fixture
def residents(compound_a):
    found = [ResidentFactory(compound=compound_a) for _ in range(3)]
    found[2].left_on = timezone.localdate()  # moved out: no SMS
    found[2].save(update_fields=["left_on"])
    return found


def test_a_secretary_sends_a_text_to_the_compound_residents(
    login, compound_a, secretary_a, code, approved, residents, sms_outbox
):
    client = login(secretary_a)
    response = client.post("/campaign/texts/code/send/", {"compound": compound_a.pk})
    message = Message.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messaging/{message.pk}/"
    assert message.recipient_count == 2 and message.compound_id == compound_a.pk
    assert message.text == (
        f"{compound_a.name}居民朋友：社区发布了《居民守则（示例）》，"
        "纸质版已张贴在各单元门口，请认真阅读、自觉遵守。"
    )
    # A double submit is the same campaign.
    again = client.post("/campaign/texts/code/send/", {"compound": compound_a.pk}, follow=True)
    assert Message.objects.count() == 1
    shown = [str(m) for m in again.context["messages"]]
    assert any("不再重复发送" in m for m in shown), shown
    send_queued()
    assert sorted(sms.phone for sms in sms_outbox.sent) == sorted(r.phone for r in residents[:2])


def test_a_volunteer_or_district_staff_cannot_send_another_community_gets_404(
    login, compound_a, secretary_b, volunteer, district_staff, code, approved, residents
):
    url = "/campaign/texts/code/send/"
    assert login(volunteer).post(url, {"compound": compound_a.pk}).status_code == 403
    assert login(district_staff).post(url, {"compound": compound_a.pk}).status_code == 403
    assert login(secretary_b).post(url, {"compound": compound_a.pk}).status_code == 404
    with pytest.raises(PermissionDenied):
        services.text_send(kind=TextKind.CODE, compound_id=compound_a.pk, by=volunteer)
    assert not Message.objects.exists()


def test_bad_input_sends_nothing(login, compound_a, secretary_a, code, residents):
    client = login(secretary_a)
    # The template is not approved by the provider yet: refused, nothing written.
    page = client.post("/campaign/texts/code/send/", {"compound": compound_a.pk}, follow=True)
    assert "尚未通过短信服务商审核" in page.content.decode()
    SmsTemplate.objects.filter(name=services.TEXT_SMS).update(approved=True, code="SMS_1")
    # The letter is not written yet.
    with pytest.raises(Refused) as refused:
        services.text_send(kind=TextKind.LETTER, compound_id=compound_a.pk, by=secretary_a)
    assert refused.value.code == "no_text"
    assert (
        client.post("/campaign/texts/letter/send/", {"compound": compound_a.pk}).status_code == 302
    )
    assert client.post("/campaign/texts/code/send/", {"compound": "x"}).status_code == 400
    assert client.post("/campaign/texts/code/send/", {}).status_code == 302
    assert (
        client.post("/campaign/texts/rules/send/", {"compound": compound_a.pk}).status_code == 404
    )
    assert client.get("/campaign/texts/code/send/").status_code == 405
    assert not Message.objects.exists()


def test_the_texts_page_offers_the_send_to_the_secretary_only(
    login, compound_a, secretary_a, district_staff, code, approved
):
    page = login(secretary_a).get("/campaign/texts/").content.decode()
    assert 'id="send-code"' in page and compound_a.name in page
    assert "纸质版已张贴在各单元门口" in page  # what the SMS reads
    assert 'id="send-letter"' not in page  # not written yet
    assert 'id="send-code"' not in login(district_staff).get("/campaign/texts/").content.decode()


def test_the_text_prints_as_an_a4_notice_signed_by_the_community(
    login, secretary_a, secretary_b, community_a, code
):
    page = login(secretary_a).get("/campaign/texts/code/print/").content.decode()
    assert "一、配合核酸检测。" in page and community_a.name in page
    assert 'class="notice cert"' in page and "data-print" in page


def test_the_texts_sms_count_in_the_publicity_totals(
    compound_a, secretary_a, secretary_b, district_staff, code, approved, residents, sms_outbox
):
    from campaign import selectors

    services.text_send(kind=TextKind.CODE, compound_id=compound_a.pk, by=secretary_a)
    send_queued()
    today = timezone.localdate()
    subs, districts, total = selectors.publicity_totals(user=district_staff, start=today, end=today)
    assert total.sms == 2 and [row.sms for row in districts] == [2]
    assert [(row.place.pk, row.sms) for row in subs] == [(compound_a.subdistrict_id, 2)]
    # The same figures are summed from messaging for a secretary of her own community only.
    assert selectors.publicity_totals(user=secretary_a, start=today, end=today)[2].sms == 2
    assert selectors.publicity_totals(user=secretary_b, start=today, end=today)[2].sms == 0
