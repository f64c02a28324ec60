"""Who pays for an SMS: every message is charged to a community, on one of its three lines (the
budget, the system allowance, the public allowance); a composer posted to several communities
says which one sends; a cancel gives back what did not go out."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from compounds.services import posting_add
from messaging import budgets, selectors, services
from messaging.models import Allowance, Budget, Message, Spending
from tests.factories import CommunityFactory, UserFactory
from wuyi.lib.errors import Refused

VARS = {"gate": "东门", "round": "3"}


def spent(community, allowance=Allowance.CAMPAIGN) -> Decimal:
    return budgets.budget_spent(community.pk, timezone.now(), allowance)


def typed(user, *numbers, **kwargs):
    """A campaign to numbers typed in: an audience that lies in no community."""
    return services.campaign_create(
        by=user,
        template_id=kwargs.pop("template").pk,
        variables=VARS,
        audience="messaging.numbers",
        targets=list(numbers),
        **kwargs,
    )


def handover(compound, phone="13800000077", key="handover:1", allowance=Allowance.SYSTEM):
    return services.send_sms(
        to=phone,
        template="核酸检测通知",
        variables=VARS,
        purpose="supplies_handover",
        idempotency_key=key,
        place=compound,
        allowance=allowance,
    )


# ------------------------------------------------------------------------ every SMS has a payer


def test_send_sms_without_a_community_is_refused(template):
    with pytest.raises(Refused) as refused:
        services.send_sms(
            to="13800000001", template=template, variables=VARS, purpose="t", idempotency_key="k"
        )
    assert refused.value.code == "no_community"
    assert not Message.objects.exists()


@pytest.fixture
def two_communities(secretary_a, community_b):
    """Secretary A, posted to community B as well (a cadre covering two communities)."""
    posting_add(user=secretary_a, place=community_b)
    return secretary_a


def test_a_secretary_of_two_communities_chooses_who_pays(
    two_communities, community_a, community_b, template
):
    with pytest.raises(Refused) as refused:
        typed(two_communities, "13800000001", template=template)
    assert set(refused.value.errors) == {"community"}
    assert not Message.objects.exists()
    message = typed(two_communities, "13800000001", template=template, community=community_b.pk)
    assert message.community_id == community_b.pk
    assert spent(community_b) == message.cost_estimate > 0
    assert spent(community_a) == 0


def test_a_community_out_of_reach_cannot_be_charged(secretary_a, subdistrict, template):
    elsewhere = CommunityFactory(subdistrict=subdistrict)
    for value in (elsewhere.pk, "abc", "9" * 30):
        with pytest.raises(Refused) as refused:
            typed(secretary_a, "13800000001", template=template, community=value)
        assert set(refused.value.errors) == {"community"}
    assert not Message.objects.exists()


def test_an_administrator_names_the_community(community_a, community_b, template):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    with pytest.raises(Refused) as refused:
        typed(admin, "13800000001", template=template)
    assert "community" in refused.value.errors
    message = typed(admin, "13800000001", template=template, community=community_a.pk)
    assert message.community_id == community_a.pk


def test_a_secretary_of_one_community_is_never_asked(secretary_a, community_a, template):
    message = typed(secretary_a, "13800000001", template=template)
    assert message.community_id == community_a.pk
    assert not services.needs_community_choice(secretary_a)


def test_the_compose_page_asks_only_who_must_choose(login, two_communities, community_b, template):
    page = login(two_communities).get("/messaging/new/").content.decode()
    assert 'name="community"' in page and community_b.name in page
    preview = login(two_communities).post(
        "/messaging/new/",
        {
            "template": template.pk,
            "audience": "messaging.numbers",
            "t:messaging.numbers": "13800000001",
            "community": str(community_b.pk),
            "action": "preview",
            **{f"var_{k}": v for k, v in VARS.items()},
        },
    )
    assert preview.status_code == 200
    assert community_b.name in preview.content.decode()


def test_the_compose_page_of_a_one_community_secretary_has_no_choice(login, secretary_a):
    assert b'name="community"' not in login(secretary_a).get("/messaging/new/").content


def test_the_api_takes_the_community(two_communities, community_b, template):
    client = APIClient()
    token = Token.objects.get_or_create(user=two_communities)[0].key
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = {
        "template": template.pk,
        "variables": VARS,
        "audience": "messaging.numbers",
        "targets": ["13800000001"],
    }
    refused = client.post("/api/campaigns/", body, format="json")
    assert refused.status_code == 400 and "community" in refused.json()
    created = client.post("/api/campaigns/", {**body, "community": community_b.pk}, format="json")
    assert created.status_code == 201, created.content
    assert Message.objects.get().community_id == community_b.pk


# ----------------------------------------------------------------------------- the lines


def test_a_campaign_that_used_up_the_budget_does_not_starve_system_texts(
    secretary_a, compound_a, community_a, template, residents_a
):
    Budget.objects.create(community=community_a, monthly_amount=Decimal("0.135"))
    b1 = compound_a.buildings.get(number="1")
    campaign = services.campaign_create(
        by=secretary_a,
        template_id=template.pk,
        variables=VARS,
        audience="residents.buildings",
        targets=[str(b1.pk)],
    )
    assert spent(community_a) == Decimal("0.135") == campaign.cost_estimate
    with pytest.raises(Refused) as refused:  # the budget is used up for campaigns
        typed(secretary_a, "13800000009", template=template)
    assert refused.value.code == "over_budget"
    message = handover(compound_a)
    assert message.allowance == Allowance.SYSTEM
    assert spent(community_a, Allowance.SYSTEM) == message.cost_estimate
    assert spent(community_a) == Decimal("0.135")


def test_a_used_up_system_allowance_draws_on_the_budget_then_stops(
    compound_a, community_a, template
):
    Budget.objects.create(
        community=community_a, monthly_amount=Decimal("0.05"), system_amount=Decimal("0.05")
    )
    assert handover(compound_a, key="h1").allowance == Allowance.SYSTEM
    assert handover(compound_a, key="h2").allowance == Allowance.CAMPAIGN
    with pytest.raises(Refused) as refused:
        handover(compound_a, key="h3")
    assert refused.value.code == "over_budget"
    assert "System texts" in str(refused.value.message) or "系统" in str(refused.value.message)
    assert Message.objects.count() == 2


def test_an_outsider_spending_ordering_codes_spends_only_the_public_allowance(
    compound_a, community_a, template
):
    Budget.objects.create(
        community=community_a, monthly_amount=Decimal("1"), public_amount=Decimal("0.09")
    )
    for n in range(2):
        handover(compound_a, key=f"self:{n}", allowance=Allowance.PUBLIC)
    with pytest.raises(Refused):
        handover(compound_a, key="self:3", allowance=Allowance.PUBLIC)
    # The household's handover code and the community's budget are untouched by it.
    assert handover(compound_a, key="handover:9").allowance == Allowance.SYSTEM
    assert spent(community_a) == 0
    assert spent(community_a, Allowance.PUBLIC) == Decimal("0.09")


def test_a_cancel_gives_back_what_did_not_go_out(
    secretary_a, compound_a, community_a, template, residents_a
):
    b1 = compound_a.buildings.get(number="1")
    message = services.campaign_create(
        by=secretary_a,
        template_id=template.pk,
        variables=VARS,
        audience="residents.buildings",
        targets=[str(b1.pk)],
        send_at=timezone.now() + datetime.timedelta(hours=2),
    )
    assert spent(community_a) == Decimal("0.135")
    services.campaign_cancel(by=secretary_a, message_id=message.pk)
    assert spent(community_a) == 0


def test_the_preview_reads_the_counter_the_send_charges(
    secretary_a, compound_a, community_a, template, residents_a
):
    Budget.objects.create(community=community_a, monthly_amount=Decimal("0.20"))
    handover(compound_a)  # a system text: not the campaign budget
    b1 = compound_a.buildings.get(number="1")
    args = {
        "by": secretary_a,
        "template_id": template.pk,
        "variables": VARS,
        "audience": "residents.buildings",
        "targets": [str(b1.pk)],
        "send_at": None,
    }
    preview = selectors.campaign_preview(**args)
    assert (preview.cost, preview.budget_left) == (Decimal("0.135"), Decimal("0.20"))
    assert preview.community == community_a.name and not preview.over_budget
    services.campaign_create(**args)
    again = selectors.campaign_preview(**args)
    assert again.budget_left == Decimal("0.065") and again.over_budget
    with pytest.raises(Refused):
        services.campaign_create(**args)
    line = selectors.budget_line(community_id=community_a.pk)
    assert (line.spent, line.system_spent) == (Decimal("0.135"), Decimal("0.045"))


def test_the_migration_counts_what_was_spent_before(compound_a, community_a, template):
    """Messages written before the counter existed are summed into it, per line and month."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("messaging.migrations.0003_budget_lines_spending_early_receipts")
    handover(compound_a, key="old:1")
    Spending.objects.all().delete()
    Message.objects.update(allowance=Allowance.CAMPAIGN)
    migration.backfill(apps, None)
    assert Message.objects.get().allowance == Allowance.SYSTEM
    assert spent(community_a, Allowance.SYSTEM) == Decimal("0.045")
