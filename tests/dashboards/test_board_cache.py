"""The overview's board kept for WUYI_BOARD_SECONDS (dashboards.views._board_html): made once
for those who see the same, never shown to someone who sees something else, made again when
it expires; the figures' queries constant in the number of compounds (issue 24)."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from compounds.models import Compound
from tests.factories import CompoundFactory, UserFactory


@pytest.fixture
def kept(settings):
    settings.WUYI_BOARD_SECONDS = 30


def _queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_the_board_is_made_once_and_again_when_it_expires(
    kept, login, district_staff, district, compound_a, community_a
):
    url = reverse("dashboards:area", args=["district", district.pk])
    client = login(district_staff)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        made, body = _queries(client, url)
        assert compound_a.name in body and "数据截至" in body
        kept_queries, again = _queries(client, url)
        assert kept_queries < made - 10  # the figures' queries are not run again
        board = body[body.index("board-asof") : body.index("charts-data")]
        assert board in again
        # Another member of the district staff, posted the same: the same board.
        colleague = UserFactory(username="dist2", role="district_staff", posted_to=district)
        assert _queries(login(colleague), url)[0] < made - 10
        added = CompoundFactory(community=community_a, name="新加小区")
        assert added.name not in _queries(client, url)[1]  # within the 30 seconds
        clock.shift(datetime.timedelta(seconds=31))
        assert added.name in _queries(login(district_staff), url)[1]


def test_someone_who_sees_less_never_gets_a_wider_board(
    kept, login, district_staff, secretary_a, district, compound_a, compound_b
):
    url = reverse("dashboards:area", args=["district", district.pk])
    assert compound_b.name in _queries(login(district_staff), url)[1]
    body = _queries(login(secretary_a), url)[1]
    assert compound_a.name in body and compound_b.name not in body


def test_each_language_has_its_board(kept, login, district_staff, district, compound_a):
    url = reverse("dashboards:area", args=["district", district.pk])
    client = login(district_staff)
    assert "数据截至" in _queries(client, url)[1]
    with translation.override("en"):
        client.cookies["django_language"] = "en"
        body = _queries(client, url)[1]
    assert "Figures as of" in body and "数据截至" not in body


def test_the_figures_read_the_same_queries_for_3_compounds_as_for_30(
    login, district_staff, district, community_a, django_assert_max_num_queries
):
    """Made on every request (the tests' default): each provider aggregates in the
    database, whatever the number of compounds."""
    url = reverse("dashboards:area", args=["district", district.pk])
    for n in range(3):
        CompoundFactory(community=community_a, status="sealed", name=f"小区{n}")
    client = login(district_staff)
    client.get(url)
    few, _body = _queries(client, url)
    for n in range(3, 30):
        CompoundFactory(community=community_a, status="controlled", name=f"小区{n}")
    with django_assert_max_num_queries(few):
        many, body = _queries(client, url)
    assert many == few
    assert Compound.objects.filter(community=community_a).count() == 30
    assert all(f"小区{n}" in body for n in range(30))
