from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CompoundFactory


def test_compounds_api_is_scoped(login, secretary_a, compound_a, compound_b):
    data = login(secretary_a).get(reverse("compound-list")).json()
    assert [row["name"] for row in data["results"]] == [compound_a.name]
    assert data["results"][0]["status"] == "normal"


def test_compounds_api_filters(login, district_staff, compound_a, compound_b, community_a):
    sealed = CompoundFactory(community=community_a, status="sealed", name="东湖小区")
    client = login(district_staff)
    data = client.get(reverse("compound-list"), {"status": "sealed"}).json()
    assert [row["id"] for row in data["results"]] == [sealed.pk]
    data = client.get(reverse("compound-list"), {"q": "东湖"}).json()
    assert [row["id"] for row in data["results"]] == [sealed.pk]


def test_compound_detail_outside_reach_is_404(login, secretary_b, compound_a):
    response = login(secretary_b).get(reverse("compound-detail", args=[compound_a.pk]))
    assert response.status_code == 404


def test_buildings_api_scoped_and_filtered(login, secretary_a, compound_a, compound_b):
    client = login(secretary_a)
    data = client.get(reverse("building-list")).json()
    assert {row["compound"] for row in data["results"]} == {compound_a.pk}
    data = client.get(reverse("building-list"), {"compound": compound_b.pk}).json()
    assert data["results"] == []


def test_api_is_read_only(login, secretary_a, compound_a):
    client = login(secretary_a)
    url = reverse("compound-detail", args=[compound_a.pk])
    assert client.patch(url, {"status": "sealed"}, content_type="application/json").status_code in (
        403,
        405,
    )
    compound_a.refresh_from_db()
    assert compound_a.status == "normal"


def test_token_auth(secretary_a, compound_a):
    token = Token.objects.create(user=secretary_a)
    client = APIClient()
    assert client.get(reverse("compound-list")).status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    data = client.get(reverse("compound-list")).json()
    assert data["count"] == 1


def test_schema_lists_the_endpoints(login, secretary_a):
    response = login(secretary_a).get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/compounds/" in paths and "/api/buildings/{id}/" in paths


def test_schema_and_docs_need_login(client, db):
    assert client.get(reverse("schema")).status_code in (401, 403)
    docs = client.get(reverse("api-docs"))
    assert docs.status_code in (302, 401, 403)
