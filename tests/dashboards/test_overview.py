from django.urls import reverse

from compounds.models import Compound
from tests.factories import CompoundFactory


def test_district_staff_land_on_their_district(login, district_staff, district):
    response = login(district_staff).get(reverse("home"))
    assert response.status_code == 302
    follow = login(district_staff).get(response.url)
    assert follow.status_code == 302
    assert follow.url == reverse("dashboards:area", args=["district", district.pk])


def test_counts_by_status_and_drill_down(
    login, district_staff, district, subdistrict, community_a, community_b, compound_a, compound_b
):
    CompoundFactory(community=community_a, status="sealed")
    CompoundFactory(community=community_b, status="sealed")
    CompoundFactory(community=community_b, status="controlled")
    client = login(district_staff)

    page = client.get(reverse("dashboards:area", args=["district", district.pk]))
    rows = {row.name: row.counts for row in page.context["overview"].rows}
    assert rows == {
        subdistrict.name: {
            "total": 5,
            "normal": 2,
            "precautionary": 0,
            "controlled": 1,
            "sealed": 2,
        }
    }

    page = client.get(reverse("dashboards:area", args=["subdistrict", subdistrict.pk]))
    rows = {row.name: row.counts for row in page.context["overview"].rows}
    assert rows[community_a.name]["total"] == 2 and rows[community_a.name]["sealed"] == 1
    assert rows[community_b.name]["total"] == 3 and rows[community_b.name]["controlled"] == 1

    page = client.get(reverse("dashboards:area", args=["community", community_a.pk]))
    names = [row.name for row in page.context["overview"].rows]
    assert compound_a.name in names and len(names) == 2
    assert reverse("compounds:detail", args=[compound_a.pk]) in page.content.decode()


def test_secretary_overview_counts_only_her_community(
    login, secretary_a, district, compound_a, compound_b
):
    page = login(secretary_a).get(reverse("dashboards:area", args=["district", district.pk]))
    assert page.context["overview"].totals["total"] == 1


def test_overview_of_another_district_is_404(login, district_staff):
    other = CompoundFactory()
    response = login(district_staff).get(
        reverse("dashboards:area", args=["district", other.district_id])
    )
    assert response.status_code == 404


def test_unknown_level_is_404(login, district_staff, district):
    response = login(district_staff).get(reverse("dashboards:area", args=["planet", district.pk]))
    assert response.status_code == 404


def test_volunteer_has_no_overview(login, volunteer):
    assert login(volunteer).get(reverse("dashboards:overview")).status_code == 403


def test_overview_query_count_is_constant(login, district_staff, district, community_a):
    """Every provider aggregates in the database: as many queries for 40 compounds as for 1."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(district_staff)
    url = reverse("dashboards:area", args=["district", district.pk])
    CompoundFactory(community=community_a, status="sealed")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(40):
        CompoundFactory(community=community_a, status="sealed")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert Compound.objects.count() == 41
    assert len(many) == len(one)
