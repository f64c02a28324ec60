import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from compounds.models import Compound, ControlStatus, StatusChange
from compounds.services import compound_change_status
from tests.factories import CompoundFactory


def test_list_shows_own_compounds_with_status(login, secretary_a, compound_a, compound_b):
    response = login(secretary_a).get(reverse("compounds:list"))
    body = response.content.decode()
    assert compound_a.name in body
    assert compound_b.name not in body
    assert "status-normal" in body


def test_list_filters_by_status_and_search(login, secretary_a, compound_a, community_a):
    other = CompoundFactory(community=community_a, name="云祥小区", status=ControlStatus.SEALED)
    client = login(secretary_a)
    sealed = client.get(reverse("compounds:list"), {"status": "sealed"}).content.decode()
    assert other.name in sealed and compound_a.name not in sealed
    found = client.get(reverse("compounds:list"), {"q": "云祥"}).content.decode()
    assert other.name in found and compound_a.name not in found
    # A bogus status filter is a 400 that names it, not a list of everything.
    response = client.get(reverse("compounds:list"), {"status": "<b>"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "status" in body and other.name not in body
    assert "&lt;b&gt;" not in body or "<b>" not in body


def test_list_htmx_request_returns_rows_only(login, secretary_a, compound_a):
    response = login(secretary_a).get(reverse("compounds:list"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert compound_a.name in body
    assert "<html" not in body


def test_list_uses_constant_queries(login, secretary_a, community_a):
    """The list and every badge plugged into it (the campaign's, ...) cost the same number of
    queries for 1 compound as for 31."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(secretary_a)
    CompoundFactory(community=community_a)
    client.get(reverse("compounds:list"))  # the session and caches warm
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("compounds:list")).status_code == 200
    for _ in range(30):
        CompoundFactory(community=community_a)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("compounds:list")).status_code == 200
    assert len(many) == len(one) <= 12


@pytest.mark.clock
def test_detail_shows_buildings_history_and_days_since_positive(login, secretary_a, compound_a):
    Compound.objects.filter(pk=compound_a.pk).update(
        last_positive_on=timezone.localdate() - datetime.timedelta(days=5)
    )
    compound_change_status(
        compound_id=compound_a.pk, to_status="sealed", reason="第5轮发现阳性", by=secretary_a
    )
    body = login(secretary_a).get(reverse("compounds:detail", args=[compound_a.pk])).content
    body = body.decode()
    assert "ALPHA1号楼" in body and "ALPHA2号楼" in body
    assert "第5轮发现阳性" in body
    assert (timezone.localdate() - datetime.timedelta(days=5)).isoformat() in body
    assert "5" in body


def test_detail_of_other_community_is_404(login, secretary_b, compound_a):
    response = login(secretary_b).get(reverse("compounds:detail", args=[compound_a.pk]))
    assert response.status_code == 404


def test_status_form_changes_status(login, secretary_a, compound_a):
    client = login(secretary_a)
    url = reverse("compounds:change_status", args=[compound_a.pk])
    form = client.get(url).content.decode()
    assert 'value="sealed"' in form
    response = client.post(
        url, {"to_status": "sealed", "reason": "新增阳性2例", "expected_from": "normal"}
    )
    assert response.status_code == 302
    compound_a.refresh_from_db()
    assert compound_a.status == "sealed"
    page = client.get(response.url).content.decode()
    assert "新增阳性2例" in page


def test_status_form_double_submit_records_once(login, secretary_a, compound_a):
    client = login(secretary_a)
    url = reverse("compounds:change_status", args=[compound_a.pk])
    data = {"to_status": "sealed", "reason": "阳性", "expected_from": "normal"}
    assert client.post(url, data).status_code == 302
    # The second post is built from the stale form: the choice is no longer offered from
    # "sealed", so the form refuses it, and nothing more is recorded.
    client.post(url, data)
    assert StatusChange.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"to_status": "sealed", "reason": "", "expected_from": "normal"}, "reason"),
        ({"to_status": "", "reason": "x", "expected_from": "normal"}, "status"),
        ({"to_status": "bogus", "reason": "x", "expected_from": "normal"}, "status"),
        ({"to_status": "sealed", "reason": "长" * 600, "expected_from": "normal"}, "500"),
    ],
)
def test_status_form_bad_input_changes_nothing(login, secretary_a, compound_a, data, message):
    client = login(secretary_a)
    client.post(reverse("set_language"), {"language": "en"})
    response = client.post(reverse("compounds:change_status", args=[compound_a.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode().lower()
    assert Compound.objects.get(pk=compound_a.pk).status == "normal"
    assert not StatusChange.objects.exists()


def test_status_form_refusal_is_shown_in_chinese(login, secretary_a, compound_a):
    Compound.objects.filter(pk=compound_a.pk).update(
        status="sealed", last_positive_on=timezone.localdate()
    )
    response = login(secretary_a).post(
        reverse("compounds:change_status", args=[compound_a.pk]),
        {"to_status": "controlled", "reason": "想降级", "expected_from": "sealed"},
    )
    assert response.status_code == 400
    assert "阳性" in response.content.decode()
    assert Compound.objects.get(pk=compound_a.pk).status == "sealed"


def test_volunteer_sees_compound_but_cannot_change_status(login, volunteer, compound_a):
    client = login(volunteer)
    detail = client.get(reverse("compounds:detail", args=[compound_a.pk]))
    assert detail.status_code == 200
    assert reverse("compounds:change_status", args=[compound_a.pk]) not in detail.content.decode()
    url = reverse("compounds:change_status", args=[compound_a.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"to_status": "sealed", "reason": "x", "expected_from": "normal"})
    assert response.status_code == 403
    assert Compound.objects.get(pk=compound_a.pk).status == "normal"


def test_outsider_cannot_post_a_status_change(login, secretary_b, compound_a):
    response = login(secretary_b).post(
        reverse("compounds:change_status", args=[compound_a.pk]),
        {"to_status": "sealed", "reason": "x", "expected_from": "normal"},
    )
    assert response.status_code == 404
    assert Compound.objects.get(pk=compound_a.pk).status == "normal"


def test_html_in_names_is_escaped(login, secretary_a, community_a):
    CompoundFactory(community=community_a, name="<script>alert(1)</script>")
    body = login(secretary_a).get(reverse("compounds:list")).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
