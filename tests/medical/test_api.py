"""The API: scoped lists, refusals as 400s with the message."""

from medical.models import Escort, Schedule
from tests.factories import (
    ResidentFactory,
)
from tests.medical.helpers import _book


def test_api_lists_are_scoped(clock, api, secretary_a, secretary_b, zhang, hospital, cars):
    from rest_framework.test import APIClient

    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    assert [e["id"] for e in api.get("/api/medical/escorts/").json()["results"]] == [escort.pk]
    assert api.get("/api/medical/hospitals/").json()["results"][0]["short_name"] == "市一院"
    assert len(api.get("/api/medical/ambulances/").json()["results"]) == 2
    outsider = APIClient()
    outsider.force_authenticate(secretary_b)
    assert outsider.get("/api/medical/escorts/").json()["results"] == []
    assert outsider.get(f"/api/medical/escorts/{escort.pk}/").status_code == 404
    assert outsider.get("/api/medical/ambulances/").json()["results"] == []


def test_api_booking_refusals_are_400s_with_the_message(clock, api, zhang, hospital, cars):
    body = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "hospital": hospital.pk,
        "scheduled_at": "2026-12-02T07:30:00+08:00",
        "ambulance": cars[0].pk,
    }
    first = api.post("/api/medical/escorts/", body, format="json")
    assert first.status_code == 201 and first.json()["status"] == "scheduled"
    again = api.post("/api/medical/escorts/", body, format="json")
    assert again.json()["id"] == first.json()["id"]  # a retry books once
    other = ResidentFactory(compound=zhang.compound, name="王秀英")
    clash = api.post("/api/medical/escorts/", {**body, "resident": other.pk}, format="json")
    assert clash.status_code == 400 and "甘A12001" in str(clash.json())
    skip = api.post(
        f"/api/medical/escorts/{first.json()['id']}/step/", {"to": "returned"}, format="json"
    )
    assert skip.status_code == 400
    assert Escort.objects.count() == 1


def test_api_schedule_without_weekdays_is_a_400(clock, api, zhang, hospital):
    body = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "weekdays": [],
        "time": "07:30",
        "hospital": hospital.pk,
        "start_date": "2026-12-01",
    }
    response = api.post("/api/medical/schedules/", body, format="json")
    assert response.status_code == 400 and "weekdays" in response.json()
    assert not Schedule.objects.exists()
    body["weekdays"] = [0, 2, 4]
    created = api.post("/api/medical/schedules/", body, format="json")
    assert created.status_code == 201 and created.json()["weekdays"] == [0, 2, 4]
    paused = api.post(
        f"/api/medical/schedules/{created.json()['id']}/status/",
        {"status": "paused"},
        format="json",
    )
    assert paused.json()["status"] == "paused"
