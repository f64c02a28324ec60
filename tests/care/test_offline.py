"""Taps made offline and replayed (volunteers/offline.py): each applied once, a refused one
writes nothing and says why, bad keys and logged-out replays are refused."""

from django.urls import reverse

from care import services
from care.models import WelfareCheck
from tests.care.conftest import _check
from volunteers.models import OfflineTap

KEY = "3f2a6c1e-8d4b-4a7e-9c1f-0b5e6d7a8c9d"


def _replay(client, url, data, key=KEY):
    return client.post(url, data, HTTP_X_OFFLINE_KEY=key)


def test_a_tap_replayed_twice_is_applied_once(made, elders, client):
    check = _check(elders[0])
    client.force_login(check.volunteer.user)
    url = reverse("care:check", args=[check.pk])
    first = _replay(client, url, {"outcome": "phone", "mood": "good", "need_text": "米一袋"})
    assert first.status_code == 200 and first.json()["ok"] is True
    second = _replay(client, url, {"outcome": "phone", "mood": "good", "need_text": "米一袋"})
    assert second.status_code == 200 and second.json()["duplicate"] is True
    check.refresh_from_db()
    assert check.outcome == "phone"
    assert check.needs.count() == 1
    assert OfflineTap.objects.filter(key=KEY).count() == 1
    # The messages of the replay are not shown again on the next page.
    page = client.get(reverse("volunteers:today")).content.decode()
    assert "msg-success" not in page


def test_a_tap_replayed_after_reassignment_is_refused_and_writes_nothing(
    made,
    elders,
    li,
    wang,
    secretary_a,
    client,
):
    check = _check(elders[0])
    before = check.volunteer
    services.check_reassign(by=secretary_a, check=check, volunteer=wang if before == li else li)
    client.force_login(before.user)
    answer = _replay(client, reverse("care:check", args=[check.pk]), {"outcome": "visited"})
    assert answer.status_code >= 400
    body = answer.json()
    assert body["ok"] is False and body["message"]
    check.refresh_from_db()
    assert check.outcome == "open"
    assert not OfflineTap.objects.exists()


def test_a_tap_on_a_task_out_of_reach_is_refused(made, elders, client, secretary_b):
    check = _check(elders[0])
    client.force_login(secretary_b)
    answer = _replay(client, reverse("care:check", args=[check.pk]), {"outcome": "visited"})
    assert answer.status_code == 404 and answer.json()["ok"] is False
    assert not OfflineTap.objects.exists()


def test_bad_input_replayed_is_refused(made, elders, client):
    check = _check(elders[0])
    client.force_login(check.volunteer.user)
    url = reverse("care:check", args=[check.pk])
    answer = _replay(client, url, {"outcome": "phone", "note": "\x00" + "长" * 100_000})
    assert answer.json()["ok"] is False
    for bad in ("short", "x" * 65, "has space in it ok?", "../../etc/passwd-aaaaaaaa"):
        assert _replay(client, url, {"outcome": "phone"}, key=bad).status_code == 400
    check.refresh_from_db()
    assert check.outcome == "open"
    assert not OfflineTap.objects.exists()


def test_a_logged_out_replay_is_kept_for_later(made, elders, client):
    check = _check(elders[0])
    answer = _replay(client, reverse("care:check", args=[check.pk]), {"outcome": "phone"})
    assert answer.status_code == 401 and answer.json()["retry"] is True
    assert not WelfareCheck.objects.exclude(outcome="open").exists()


def test_the_service_worker_and_the_manifest(client, volunteer):
    client.force_login(volunteer)
    worker = client.get(reverse("volunteers:service_worker"))
    assert worker.status_code == 200
    assert worker["Service-Worker-Allowed"] == "/"
    assert "javascript" in worker["Content-Type"]
    manifest = client.get(reverse("volunteers:manifest"))
    assert manifest.json()["start_url"] == reverse("volunteers:today")
    page = client.get(reverse("volunteers:today")).content.decode()
    assert 'data-offline-worker="/volunteers/sw.js"' in page
    assert "offline.js" in page


def test_a_delivery_tapped_offline_is_recorded_once(compound_a, volunteer, client):
    from django.utils import timezone

    from tests.factories import OrderFactory

    order = OrderFactory(
        compound=compound_a,
        status="out_for_delivery",
        claimed_by=volunteer,
        claimed_at=timezone.now(),
        phone="",
    )
    client.force_login(volunteer)
    url = reverse("supplies:deliver", args=[order.pk])
    data = {"how": "door", "code": "", "action": "delivered"}
    first = _replay(client, url, data)
    assert first.json()["ok"] is True, first.json()
    assert _replay(client, url, data).json()["duplicate"] is True
    order.refresh_from_db()
    assert order.status == "delivered"
