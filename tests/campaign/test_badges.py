"""The campaign's badge (eligible in N days / eligible / certified / revoked) wherever compounds
are listed: the compound list, the dashboard's table of a community's compounds, a testing
round's coverage by compound, the day's and the week's disinfection per compound, the medical
cover of controlled compounds. Campaign is above all of them: they ask compounds' badge
registry (compounds.registry.attach_badges), once per page, so the page costs the same
queries for 3 compounds and for 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Level
from compounds.models import ControlStatus
from compounds.registry import attach_badges
from tests.campaign.factories import CertificateFactory
from tests.factories import CompoundFactory, RoundFactory
from tests.screening import factories as screening

PAGES = {
    "compound list": lambda ctx: reverse("compounds:list"),
    "dashboard of a community": lambda ctx: reverse(
        "dashboards:area", args=[Level.COMMUNITY, ctx["community"].pk]
    ),
    "testing round coverage": lambda ctx: reverse("screening:round", args=[ctx["round"].pk]),
    "disinfection of the day": lambda ctx: reverse("sanitation:overview"),
    "disinfection of the week": lambda ctx: reverse("sanitation:week"),
    "medical cover": lambda ctx: reverse("medical:coverage"),
}


def _compound(community, i: int):
    """A sealed compound (medical cover is asked of it) with a disinfection round today."""
    compound = CompoundFactory(
        community=community, code=f"BADGE-{i:03d}", name=f"徽章小区{i:03d}", status="sealed"
    )
    RoundFactory(compound=compound)
    return compound


@pytest.fixture
def listed(community_a, compound_a):
    Compound = type(compound_a)
    Compound.objects.filter(pk=compound_a.pk).update(status=ControlStatus.SEALED)
    RoundFactory(compound=compound_a)
    certified = _compound(community_a, 1)
    CertificateFactory(compound=certified, status="valid")
    revoked = _compound(community_a, 2)
    CertificateFactory(compound=revoked)
    return {
        "community": community_a,
        "certified": certified,
        "revoked": revoked,
        "round": screening.TestingRoundFactory(compound=compound_a),
    }


def _badge(css: str, compound) -> str:
    return f'class="badge {css}" href="{reverse("campaign:compound", args=[compound.pk])}"'


@pytest.mark.parametrize("page", list(PAGES))
def test_the_badge_shows_on_each_list_in_constant_queries(page, login, district_staff, listed):
    client = login(district_staff)
    url = PAGES[page](listed)
    client.get(url)  # the user's places, read once
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert _badge("ok", listed["certified"]) in body
    assert _badge("bad", listed["revoked"]) in body
    for i in range(3, 30):
        compound = _compound(listed["community"], i)
        if i % 3 == 0:
            CertificateFactory(compound=compound, status="valid")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    body = response.content.decode()
    assert body.count('class="badge ok" href="/campaign/') == 1 + 9
    assert len(many.captured_queries) == len(few.captured_queries), page


@pytest.mark.parametrize("page", ["testing round coverage", "medical cover"])
def test_a_role_that_does_not_read_the_campaign_sees_no_badge(page, login, medic, listed):
    response = login(medic).get(PAGES[page](listed))
    assert response.status_code == 200
    assert 'href="/campaign/' not in response.content.decode()


def test_attach_badges_takes_compounds_or_ids_and_reads_deferred_ones_once(
    district_staff, listed, django_assert_max_num_queries
):
    Compound = type(listed["certified"])
    rows = [type("Row", (), {"compound_id": c.pk})() for c in Compound.objects.order_by("pk")]
    attach_badges(district_staff, rows, lambda row: row.compound_id)
    found = {row.compound_id: [b.css for b in row.badges] for row in rows}
    assert found[listed["certified"].pk] == ["ok"]
    assert found[listed["revoked"].pk] == ["bad"]
    deferred = list(Compound.objects.only("id", "name"))
    with CaptureQueriesContext(connection) as ctx:
        attach_badges(district_staff, deferred)
    for i in range(3, 30):
        _compound(listed["community"], i)
    deferred = list(Compound.objects.only("id", "name"))
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        attach_badges(district_staff, deferred)
    assert {c.pk: [b.css for b in c.badges] for c in deferred}[listed["certified"].pk] == ["ok"]
