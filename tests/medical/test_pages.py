"""Pages: who sees what, the booking and emergency forms, the crew's phone pages."""

import datetime

from django.urls import reverse
from django.utils import timezone

from medical.models import Ambulance, Escort, Schedule
from tests.medical.helpers import MORNING, _book, _dialysis
from volunteers import registry


def test_pages_answer_their_users(
    clock, login, secretary_a, district_staff, medic, zhang, hospital, cars, sealed
):
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    client = login(secretary_a)
    for name in ("escorts", "schedules", "board", "coverage", "statistics"):
        assert client.get(reverse(f"medical:{name}")).status_code == 200, name
    page = client.get(reverse("medical:escort", args=[escort.pk])).content.decode()
    assert "张建国" in page and "138****0011" in page and "13893100011" not in page
    assert client.get(reverse("medical:book") + f"?compound={sealed.pk}").status_code == 200
    assert client.get(reverse("medical:schedule_add") + f"?compound={sealed.pk}").status_code == 200
    assert (
        client.get(reverse("medical:statistics") + "?start=2026-12-05&end=2026-12-01").status_code
        == 400
    )
    assert client.get(reverse("medical:escorts") + "?start=nonsense").status_code == 400
    response = client.get(reverse("medical:statistics") + "?format=xlsx")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    login(medic)
    assert client.get(reverse("medical:emergency")).status_code == 200
    assert client.get(reverse("medical:book")).status_code == 403


def test_pages_offer_the_emergency_form_only_to_who_may_report(
    login, secretary_a, district_staff, sealed
):
    form = reverse("medical:emergency")
    for user, offered in ((secretary_a, True), (district_staff, False)):
        client = login(user)
        for url in (reverse("medical:escorts"), reverse("compounds:detail", args=[sealed.pk])):
            assert (f'href="{form}' in client.get(url).content.decode()) is offered, (user, url)
        assert (client.get(form).status_code == 200) is offered


def test_booking_page_double_booking_shows_the_clash(
    clock, login, secretary_a, zhang, hospital, cars, sealed
):
    _book(secretary_a, zhang, hospital, ambulance=cars[0])
    client = login(secretary_a)
    response = client.post(
        reverse("medical:book") + f"?compound={sealed.pk}",
        {
            "resident": zhang.pk,
            "kind": "dialysis",
            "hospital": hospital.pk,
            "scheduled_at": "2026-12-02T08:00",
            "duration_minutes": 240,
            "ambulance": cars[0].pk,
        },
    )
    assert response.status_code == 400
    assert "甘A12001" in response.content.decode()
    assert Escort.objects.count() == 1

    # The same booking sent twice (a double click) is one escort.
    body = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "hospital": hospital.pk,
        "scheduled_at": "2026-12-03T08:00",
        "duration_minutes": 240,
    }
    url = reverse("medical:book") + f"?compound={sealed.pk}"
    first, second = client.post(url, body), client.post(url, body)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Escort.objects.count() == 2


def test_emergency_form_to_returned(clock, login, medic, zhang, hospital, cars, sealed):
    client = login(medic)
    response = client.post(
        reverse("medical:emergency") + f"?compound={sealed.pk}",
        {"resident": zhang.pk, "symptom": "胸痛"},
    )
    escort = Escort.objects.get()
    assert response.status_code == 302 and escort.status == "dispatched"
    board = client.get(reverse("medical:board") + "?partial=1").content.decode()
    assert "胸痛" in board and "甘A12001" in board
    assert client.post(reverse("medical:dispatch", args=[escort.pk])).status_code == 302
    assert Escort.objects.get().ambulance == cars[0]
    for step in ("at_hospital", "returned"):
        client.post(reverse("medical:step", args=[escort.pk]), {"to": step})
    escort.refresh_from_db()
    assert escort.status == "returned"
    assert "胸痛" not in client.get(reverse("medical:board") + "?partial=1").content.decode()


def test_outsiders_get_404(clock, login, secretary_a, secretary_b, zhang, hospital, cars):
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    client = login(secretary_b)
    assert client.get(reverse("medical:escort", args=[escort.pk])).status_code == 404
    assert (
        client.post(reverse("medical:step", args=[escort.pk]), {"to": "dispatched"}).status_code
        == 404
    )
    assert "张建国" not in client.get(reverse("medical:escorts")).content.decode()


def test_the_ledger_links_to_the_residents_schedule(clock, login, secretary_a, zhang, hospital):
    from residents.models import VulnerableTag

    VulnerableTag.objects.create(resident=zhang, category="chronic", treatment="透析")
    _dialysis(secretary_a, zhang, hospital)
    client = login(secretary_a)
    ledger = client.get(reverse("residents:ledger")).content.decode()
    assert "透析 周一、三、五 07:30" in ledger
    assert f"?resident={zhang.pk}" in ledger
    detail = client.get(reverse("residents:detail", args=[zhang.pk])).content.decode()
    assert "透析 周一、三、五 07:30" in detail
    schedules = client.get(reverse("medical:schedules") + f"?resident={zhang.pk}")
    assert "张建国" in schedules.content.decode()


def test_the_crew_moves_its_job_along_from_todays_tasks(
    clock, login, secretary_a, zhang, hospital, cars, crew
):
    escort = _book(
        secretary_a, zhang, hospital, at=MORNING + datetime.timedelta(minutes=30), ambulance=cars[0]
    )
    client = login(crew)
    assert (
        f'id="task-escort{escort.pk}"' in client.get(reverse("volunteers:today")).content.decode()
    )
    url = reverse("medical:step", args=[escort.pk]) + "?from=task"
    for expected in ("dispatched", "at_hospital", "returned"):
        row = client.post(url, HTTP_HX_REQUEST="true")
        assert row.status_code == 200 and 'class="task' in row.content.decode()
        escort.refresh_from_db()
        assert escort.status == expected
    assert 'class="task done"' in row.content.decode()
    # Done: a further tap changes nothing.
    client.post(url, HTTP_HX_REQUEST="true")
    escort.refresh_from_db()
    assert escort.status == "returned" and len(escort.steps) == 5


def test_a_job_under_way_at_midnight_stays_in_the_crews_tasks(
    clock, login, secretary_a, zhang, hospital, cars, crew
):
    """Out at 23:30, at hospital at 00:20 Beijing time (16:20 UTC): the crew still finds the
    job in 今日任务 after midnight, until it is closed."""
    late = MORNING.replace(hour=23, minute=30)
    clock.move_to(late - datetime.timedelta(hours=1))
    escort = _book(secretary_a, zhang, hospital, at=late, ambulance=cars[0])
    client = login(crew)
    url = reverse("medical:step", args=[escort.pk]) + "?from=task"
    clock.move_to(late)
    client.post(url, HTTP_HX_REQUEST="true")  # dispatched
    clock.move_to(late + datetime.timedelta(minutes=50))
    after_midnight = timezone.localdate()
    assert after_midnight == MORNING.date() + datetime.timedelta(days=1)
    keys = [t.key for t in registry.tasks_for(crew, after_midnight)]
    assert f"escort:{escort.pk}" in keys
    today = client.get(reverse("volunteers:today")).content.decode()
    assert f'id="task-escort{escort.pk}"' in today
    client.post(url, HTTP_HX_REQUEST="true")  # at hospital
    client.post(url, HTTP_HX_REQUEST="true")  # returned: closed
    escort.refresh_from_db()
    assert escort.status == "returned"
    assert f"escort:{escort.pk}" not in [t.key for t in registry.tasks_for(crew, after_midnight)]


def test_schedule_page_refuses_no_weekdays_and_saves_with_them(
    clock, login, secretary_a, zhang, sealed, hospital
):
    client = login(secretary_a)
    url = reverse("medical:schedule_add") + f"?compound={sealed.pk}"
    body = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "time": "07:30",
        "duration_minutes": 240,
        "hospital": hospital.pk,
        "start_date": "2026-12-01",
    }
    refused = client.post(url, body)
    assert refused.status_code == 400 and "请至少选择一个星期几" in refused.content.decode()
    assert not Schedule.objects.exists()
    assert client.post(url, {**body, "weekdays": ["0", "2", "4"]}).status_code == 302
    assert Schedule.objects.get().weekdays == [0, 2, 4]


def test_a_double_submitted_emergency_is_one(clock, login, medic, zhang, sealed, hospital, cars):
    client = login(medic)
    url = reverse("medical:emergency") + f"?compound={sealed.pk}"
    for _ in range(2):
        assert client.post(url, {"resident": zhang.pk, "symptom": "胸痛"}).status_code == 302
    assert Escort.objects.count() == 1
    assert Ambulance.objects.filter(status="on_job").count() == 1
