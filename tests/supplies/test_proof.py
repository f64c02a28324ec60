"""Delivery proof as the compound configures it: the code, a photo at the door, or both."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging.models import Message
from supplies import services
from supplies.models import GroupBuyStatus, Order, OrderStatus
from tests.photos import bomb_png, has_gps, jpeg, png
from wuyi.lib.errors import Refused


def _photo(data=None, name="door.png"):
    return SimpleUploadedFile(name, png() if data is None else data, content_type="image/png")


@pytest.fixture
def out(sms, secretary_a, volunteer, buy, households):
    order = services.order_submit(
        by=secretary_a,
        household=households[0],
        group_buy=buy,
        quantities={buy.items.first().pk: 1},
        client_key=uuid.uuid4().hex,
        phone="13800138000",
    )
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    return order


def _claim(volunteer, order):
    return services.orders_claim(by=volunteer, orders=[order.pk])[0]


def test_photo_compound_needs_a_photo_and_sends_no_code(
    settings, tmp_path, secretary_a, volunteer, compound_a, out
):
    settings.MEDIA_ROOT = tmp_path
    services.delivery_rule_set(by=secretary_a, compound=compound_a, proof="photo")
    order = _claim(volunteer, out)
    assert not Message.objects.filter(purpose="supplies_handover").exists()
    with pytest.raises(Refused) as refused:
        services.order_mark_delivered(by=volunteer, order=order, how="door")
    assert refused.value.field == "photo"
    with pytest.raises(Refused):
        services.order_mark_delivered(
            by=volunteer, order=order, how="door", photo=_photo(b"<html>", "x.png")
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.OUT_FOR_DELIVERY and not order.photo
    done = services.order_mark_delivered(by=volunteer, order=order, how="door", photo=_photo())
    # Stored as what it was re-encoded into (wuyi.lib.photos), whatever it came as.
    assert done.status == OrderStatus.DELIVERED and done.photo.name.endswith(".jpg")


def test_both_needs_code_and_photo(settings, tmp_path, secretary_a, volunteer, compound_a, out):
    settings.MEDIA_ROOT = tmp_path
    services.delivery_rule_set(by=secretary_a, compound=compound_a, proof="both")
    order = _claim(volunteer, out)
    code = Message.objects.get(purpose="supplies_handover").variables["code"]
    with pytest.raises(Refused):
        services.order_mark_delivered(by=volunteer, order=order, how="door", code=code)
    with pytest.raises(Refused):
        services.order_mark_delivered(by=volunteer, order=order, how="door", photo=_photo())
    order.refresh_from_db()
    assert order.status == OrderStatus.OUT_FOR_DELIVERY and not order.photo
    services.order_mark_delivered(by=volunteer, order=order, how="door", code=code, photo=_photo())
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_only_the_secretary_sets_the_proof(volunteer, compound_a):
    with pytest.raises(PermissionDenied):
        services.delivery_rule_set(by=volunteer, compound=compound_a, proof="photo")


def test_photo_from_the_phone_page_and_who_sees_it(
    settings, tmp_path, login, secretary_a, secretary_b, volunteer, compound_a, out
):
    settings.MEDIA_ROOT = tmp_path
    client = login(secretary_a)
    client.post(
        reverse("supplies:links"), {"compound": compound_a.pk, "action": "proof", "proof": "photo"}
    )
    order = _claim(volunteer, out)
    phone = login(volunteer)
    assert "photo-" in phone.get(reverse("supplies:deliveries")).text
    phone.post(
        reverse("supplies:deliver", args=[order.pk]),
        {"how": "door", "action": "delivered", "photo": _photo()},
    )
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.DELIVERED
    seen = login(secretary_a).get(reverse("supplies:photo", args=[order.pk]))
    assert seen.status_code == 200 and "no-store" in seen["Cache-Control"]
    assert login(secretary_b).get(reverse("supplies:photo", args=[order.pk])).status_code == 404


def test_the_door_photo_is_served_without_gps_and_a_bomb_is_refused(
    settings, tmp_path, login, secretary_a, volunteer, compound_a, out
):
    """Issue 17, item 10, for the delivery photo: what the volunteer's phone wrote into it
    (where, which phone) is not served to the secretary; a 30,000 × 30,000 PNG is refused."""
    settings.MEDIA_ROOT = tmp_path
    services.delivery_rule_set(by=secretary_a, compound=compound_a, proof="photo")
    order = _claim(volunteer, out)
    phone = login(volunteer)
    page = phone.post(
        reverse("supplies:deliver", args=[order.pk]),
        {"how": "door", "action": "delivered", "photo": _photo(bomb_png(), "door.png")},
        follow=True,
    )
    assert "像素" in page.text
    assert Order.objects.get(pk=order.pk).status == OrderStatus.OUT_FOR_DELIVERY
    phone.post(
        reverse("supplies:deliver", args=[order.pk]),
        {"how": "door", "action": "delivered", "photo": _photo(jpeg(), "IMG_0001.jpg")},
    )
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DELIVERED
    seen = login(secretary_a).get(reverse("supplies:photo", args=[order.pk]))
    data = b"".join(seen.streaming_content)
    assert seen["Content-Type"] == "image/jpeg" and not has_gps(data)
