"""In-app alerts: raising one once, the bell on every page, the user's list, who stands one
level up, and delivering to a person by SMS and in the app with no silent drop (issue 16,
issue 19)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Alert, Role, Severity
from accounts.services import alert_raise, alerts_mark_read
from compounds.selectors import staff_above, staff_of
from messaging.alerts import alert_deliver, alert_staff
from messaging.models import Message
from tests.conftest import send_queued
from tests.factories import AlertFactory, UserFactory


@pytest.fixture
def subdistrict_staff(subdistrict):
    return UserFactory(username="street", role=Role.SUBDISTRICT_STAFF, posted_to=subdistrict)


# ----------------------------------------------------------------------------- raising


def test_an_alert_is_raised_once_per_user_and_key(secretary_a, secretary_b):
    first = alert_raise(to=secretary_a, text="3个消杀点位逾期", key="k1", link="/compounds/")
    again = alert_raise(to=secretary_a, text="something else", key="k1")
    assert again.pk == first.pk and again.text == "3个消杀点位逾期"
    other = alert_raise(to=secretary_b, text="3个消杀点位逾期", key="k1")
    assert other.pk != first.pk
    assert Alert.objects.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"key": ""}, "key"),
        ({"key": "k", "severity": "panic"}, "severity"),
        ({"key": "k", "link": "https://evil.example/"}, "inside"),
        ({"key": "k", "link": "javascript:alert(1)"}, "inside"),
    ],
)
def test_bad_alerts_are_refused(secretary_a, kwargs, words):
    with pytest.raises(ValueError, match=words):
        alert_raise(to=secretary_a, text="x", **kwargs)
    assert not Alert.objects.exists()


def test_a_long_text_is_cut_not_refused(secretary_a):
    alert = alert_raise(to=secretary_a, text="消" * 500, key="long")
    assert len(alert.text) == 300 and alert.text.endswith("…")


# ----------------------------------------------------------------------------- the bell


def test_the_bell_counts_unread_alerts_on_every_page_in_one_query(login, secretary_a, compound_a):
    AlertFactory(compound=compound_a)
    AlertFactory(compound=compound_a)
    read = AlertFactory(compound=compound_a)
    alerts_mark_read(by=secretary_a, ids=[read.pk])
    client = login(secretary_a)
    for url in (reverse("compounds:list"), reverse("residents:list"), reverse("alerts:list")):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content.decode()
        assert 'class="bell has-unread"' in page and '<span class="bell-count">2</span>' in page
        bell = [
            q["sql"]
            for q in queries
            if "accounts_alert" in q["sql"] and '"read_at" IS NULL' in q["sql"]
        ]
        assert len(bell) == 1 and "COUNT" in bell[0], bell


def test_the_bell_is_quiet_with_nothing_unread_and_absent_when_logged_out(
    client, login, secretary_a
):
    page = login(secretary_a).get(reverse("compounds:list")).content.decode()
    assert 'class="bell"' in page and "bell-count" not in page
    client.logout()
    assert "bell" not in client.get(reverse("login")).content.decode()


def test_the_count_shows_99_plus(login, secretary_a):
    for n in range(100):
        alert_raise(to=secretary_a, text=f"提醒{n}", key=f"many:{n}")
    page = login(secretary_a).get(reverse("compounds:list")).content.decode()
    assert '<span class="bell-count">99+</span>' in page


# ----------------------------------------------------------------------------- the list


def test_a_user_sees_only_their_own_alerts(login, secretary_a, secretary_b, compound_a, compound_b):
    mine = AlertFactory(compound=compound_a)
    theirs = AlertFactory(compound=compound_b)
    assert theirs.user == secretary_b
    page = login(secretary_a).get(reverse("alerts:list")).content.decode()
    assert mine.text in page and theirs.text not in page
    # A superuser's list is theirs alone too.
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    page = login(admin).get(reverse("alerts:list")).content.decode()
    assert mine.text not in page and theirs.text not in page


def test_an_outsider_gets_404_and_changes_nothing(login, secretary_b, compound_a):
    alert = AlertFactory(compound=compound_a)
    client = login(secretary_b)
    assert client.get(reverse("alerts:open", args=[alert.pk])).status_code == 404
    assert client.post(reverse("alerts:read", args=[alert.pk])).status_code == 404
    client.post(reverse("alerts:read_all"))
    alert.refresh_from_db()
    assert alert.read_at is None


def test_opening_an_alert_marks_it_read_and_goes_where_it_points(login, secretary_a, compound_a):
    alert = AlertFactory(compound=compound_a)
    response = login(secretary_a).get(reverse("alerts:open", args=[alert.pk]))
    assert response.status_code == 302 and response.url == f"/compounds/{compound_a.pk}/"
    alert.refresh_from_db()
    assert alert.read_at is not None


def test_a_stored_outside_link_is_never_followed(login, secretary_a, compound_a):
    alert = AlertFactory(compound=compound_a)
    Alert.objects.filter(pk=alert.pk).update(link="//evil.example/")
    response = login(secretary_a).get(reverse("alerts:open", args=[alert.pk]))
    assert response.url == reverse("alerts:list")


def test_mark_one_then_all_read(login, secretary_a, compound_a):
    one, two = AlertFactory(compound=compound_a), AlertFactory(compound=compound_a)
    client = login(secretary_a)
    assert client.get(reverse("alerts:read", args=[one.pk])).status_code == 405
    client.post(reverse("alerts:read", args=[one.pk]))
    assert list(Alert.objects.unread().values_list("pk", flat=True)) == [two.pk]
    page = client.get(reverse("alerts:list") + "?show=unread").content.decode()
    assert two.text in page and 'class="row alert alert-warning unread"' in page
    client.post(reverse("alerts:read_all"))
    assert not Alert.objects.unread().exists()
    assert "没有未读提醒" in client.get(reverse("alerts:list") + "?show=unread").content.decode()


def test_a_bad_filter_is_a_400(login, secretary_a):
    assert login(secretary_a).get(reverse("alerts:list") + "?show=everything").status_code == 400


def test_anonymous_is_sent_to_login(client, compound_a):
    alert = AlertFactory(compound=compound_a)
    for url in (reverse("alerts:list"), reverse("alerts:open", args=[alert.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response.url


# ----------------------------------------------------------------------------- one level up


def test_who_stands_one_level_up(
    secretary_a, volunteer, medic, subdistrict_staff, district_staff, compound_a
):
    assert staff_above(volunteer, compound_id=compound_a.pk) == [secretary_a]
    assert staff_above(medic) == [secretary_a]
    assert staff_above(secretary_a, compound_id=compound_a.pk) == [subdistrict_staff]
    assert staff_above(secretary_a) == [subdistrict_staff]
    assert staff_above(subdistrict_staff) == [district_staff]
    assert staff_above(district_staff) == []


def test_a_level_with_nobody_is_skipped(secretary_a, district_staff, compound_a):
    """No sub-district staff: the district hears rather than nobody."""
    assert staff_above(secretary_a, compound_id=compound_a.pk) == [district_staff]


def test_staff_of_a_compound_falls_back_upwards(
    compound_a, compound_b, secretary_a, district_staff
):
    assert staff_of(compound_a.pk, role=Role.SECRETARY) == [secretary_a]
    # Community B has no secretary in this test: the district staff answer for it.
    assert staff_of(compound_b.pk, role=Role.SECRETARY) == [district_staff]


# ----------------------------------------------------------------------------- delivery


@pytest.fixture
def approved_text(db):
    """An approved template to send alerts' SMS with (the apps bring their own)."""
    from messaging.models import SmsTemplate

    return SmsTemplate.objects.create(
        name="测试提醒", code="SMS_T", body="{compound}有{count}个消杀轮次未完成", approved=True
    )


def _sms(template, compound):
    from messaging.services import send_sms

    def send(phone: str) -> bool:
        send_sms(
            to=phone,
            template=template,
            variables={"compound": compound.name, "count": "3"},
            purpose="test",
            idempotency_key=f"test:{phone}",
            place=compound,
        )
        return True

    return send


def test_a_person_with_a_phone_gets_the_sms_and_the_alert_and_nobody_else(
    sms_outbox, approved_text, secretary_a, subdistrict_staff, compound_a
):
    secretary_a.phone = "13893100099"
    secretary_a.save()
    delivery = alert_deliver(
        to=secretary_a,
        text="3个消杀轮次未完成",
        key="t:1",
        sms=_sms(approved_text, compound_a),
        compound_id=compound_a.pk,
    )
    assert delivery.texted and delivery.forwarded_to == []
    send_queued()
    assert [m.phone for m in sms_outbox.sent] == ["13893100099"]
    assert list(Alert.objects.values_list("user__username", flat=True)) == [secretary_a.username]


def test_a_person_without_a_phone_is_told_in_the_app_and_so_is_the_level_above(
    sms_outbox, approved_text, secretary_a, subdistrict_staff, compound_a
):
    assert secretary_a.phone == ""
    for _ in range(2):  # a repeat adds nothing
        delivery = alert_deliver(
            to=secretary_a,
            text="3个消杀轮次未完成",
            key="t:2",
            link="/sanitation/",
            severity=Severity.URGENT,
            sms=_sms(approved_text, compound_a),
            compound_id=compound_a.pk,
        )
    assert not delivery.texted and delivery.forwarded_to == [subdistrict_staff]
    assert not Message.objects.exists()
    hers = Alert.objects.get(user=secretary_a)
    above = Alert.objects.get(user=subdistrict_staff)
    assert hers.text == "3个消杀轮次未完成" and hers.severity == "urgent"
    assert above.about == secretary_a and above.link == "/sanitation/"
    assert secretary_a.display_name in above.text and "没有手机号" in above.text


def test_an_sms_that_cannot_go_is_forwarded_too(secretary_a, subdistrict_staff, compound_a):
    secretary_a.phone = "13893100099"
    delivery = alert_deliver(
        to=secretary_a, text="x", key="t:3", sms=lambda phone: False, compound_id=compound_a.pk
    )
    assert delivery.forwarded_to == [subdistrict_staff]
    assert "短信未能发出" in Alert.objects.get(user=subdistrict_staff).text


def test_an_in_app_alert_is_not_forwarded(secretary_a, subdistrict_staff, compound_a):
    delivery = alert_deliver(to=secretary_a, text="x", key="t:4")
    assert delivery.in_app == 1 and delivery.forwarded_to == []
    assert list(Alert.objects.values_list("user", flat=True)) == [secretary_a.pk]


def test_alert_staff_skips_who_did_it(secretary_a, compound_a):
    told = alert_staff(
        compound_id=compound_a.pk, role=Role.SECRETARY, text="x", key="t:5", but=[secretary_a.pk]
    )
    assert told == [] and not Alert.objects.exists()
