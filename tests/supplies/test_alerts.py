"""A failed delivery reaches the secretary's bell (issue 19)."""

from django.urls import reverse
from django.utils import translation

from accounts.models import Alert
from supplies import services
from tests.supplies.test_services import bought  # noqa: F401 - fixture


def test_a_failed_delivery_is_an_alert_for_the_secretary_once_per_attempt(
    sms,
    login,
    secretary_a,
    secretary_b,
    volunteer,
    compound_a,
    bought,  # noqa: F811
):
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    with translation.override("en"):  # the volunteer's phone is in English
        services.order_mark_failed(by=volunteer, order=order, note="无人应答")
    alert = Alert.objects.get()
    assert alert.user == secretary_a and alert.link == reverse("supplies:order", args=[order.pk])
    # Written for the secretary, in the site's language.
    assert "配送未成功" in alert.text and "无人应答" in alert.text
    assert order.household.address in alert.text
    # The volunteer who marked it is not told; the other community's secretary neither.
    assert not Alert.objects.filter(user__in=[volunteer, secretary_b]).exists()
    # Claimed and failed again: a second alert, for the second attempt.
    services.orders_claim(by=volunteer, orders=[order.pk])
    services.order_mark_failed(by=volunteer, order=order)
    assert Alert.objects.filter(user=secretary_a).count() == 2
    page = login(secretary_a).get(reverse("compounds:list")).content.decode()
    assert '<span class="bell-count">2</span>' in page
