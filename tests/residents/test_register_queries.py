"""The register's list reads a constant number of queries, and its rows' links are the
views' own (issue 24: the links are reversed once per page, not three times per row)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import ResidentFactory, VulnerableTagFactory


def _page(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("residents:list"))
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_the_register_reads_the_same_queries_for_3_residents_as_for_30(
    login, secretary_a, compound_a, django_assert_max_num_queries
):
    made = [ResidentFactory(compound=compound_a, name=f"住户{n}") for n in range(3)]
    VulnerableTagFactory(resident=made[0], compound=compound_a)
    client = login(secretary_a)
    client.get(reverse("residents:list"))
    few, body = _page(client)
    made += [ResidentFactory(compound=compound_a, name=f"住户{n}") for n in range(3, 30)]
    with django_assert_max_num_queries(few):
        many, body = _page(client)
    assert many == few
    for resident in made:
        assert f'href="{reverse("residents:detail", args=[resident.pk])}"' in body
        assert f'href="{reverse("residents:household", args=[resident.household_id])}"' in body
        assert f'action="{reverse("residents:call", args=[resident.pk])}"' in body
