"""What the supplies pages share: loading a buy or an order for the user, the secretary's check,
the household an address names."""

from typing import Any

from django.utils.translation import gettext as _

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from compounds.models import Building
from residents import selectors as residents_selectors
from residents.models import Household
from wuyi.lib.errors import Refused

from .. import rules
from ..models import (
    GroupBuy,
    Order,
)


def _organiser(request: AuthedHttpRequest) -> None:
    require(
        rules.may_organise(request.user), _("Supplies are organised by the community secretary.")
    )


def _buy(request: AuthedHttpRequest, pk: int, *, organise: bool = False) -> GroupBuy:
    return get_visible_or_404(
        GroupBuy.objects.select_related("supplier", "community"),
        request.user,
        pk=pk,
        may=rules.may_organise if organise else None,
    )


def _order(request: AuthedHttpRequest, pk: int, *, organise: bool = False) -> Order:
    return get_visible_or_404(
        Order.objects.select_related("household", "building", "compound", "group_buy"),
        request.user,
        pk=pk,
        may=rules.may_organise if organise else None,
    )


def _household(user: Any, data: dict) -> Household:
    """The household at the address the form gives, among those the user sees."""
    found = residents_selectors.household_at(
        building=data["building"], unit=data.get("unit") or "", room=data["room"], by=user
    )
    if found is None:
        raise Refused(
            _("No household at this address in the register: add it there first."), field="room"
        )
    return found


def _address_form(request: AuthedHttpRequest, form_class, compounds, **kwargs):
    buildings = (
        Building.objects.visible_to(request.user)
        .filter(compound__in=compounds)
        .select_related("compound")
        .order_by("compound__name", "number")
    )
    return form_class(request.POST or None, buildings=buildings, **kwargs)
