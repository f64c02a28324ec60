"""The residents' code (居民守则) and the district's letter of appeal (倡议书), read by a household
through its own link (residents.household): the texts of its compound's district, as the
district wrote them. Registered with the link's actions when the app is ready (apps.py
imports this module)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from residents.models import Household, HouseholdLink
from residents.registry import HouseholdAction, register_household_action

from .models import CampaignText, TextKind

ACTION = "campaign.notices"


def household_notices(
    request: HttpRequest, link: HouseholdLink, household: Household
) -> HttpResponse:
    """The district's texts for residents, the residents' code first. Read only."""
    order: dict[str, int] = {TextKind.CODE: 0, TextKind.LETTER: 1}
    texts = sorted(
        CampaignText.objects.filter(district_id=household.compound.district_id),
        key=lambda text: order.get(text.kind, 9),
    )
    return render(
        request,
        "campaign/household_notices.html",
        {"link": link, "household": household, "texts": texts},
    )


register_household_action(
    HouseholdAction(
        key=ACTION,
        label=gettext_lazy("The residents' code and notices"),
        view=household_notices,
        order=60,
    )
)
