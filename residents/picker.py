"""The resident picker: a search box instead of a select of every resident of a compound.

A form field keeps its ModelChoiceField (the queryset still decides what may be chosen); its
widget renders a search box that asks `residents:pick` (htmx, as the user types) for the
residents matching a name or a door number, each a radio button of the field. The chosen one
stays on the page when the form comes back with an error. The phone never appears in a list.

Its templates live in residents/templates/ rather than the project's templates/: widgets are
rendered by the form renderer, whose engine reads the apps' template folders only.
"""

import re
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from accounts.access import get_visible_or_404
from accounts.http import AuthedHttpRequest
from compounds.models import Compound
from wuyi.lib.params import int_param, text_param

from .models import Resident
from .rules import may_pick_residents

MAX_RESULTS = 12
_FIELD = re.compile(r"[a-z_]{1,40}")
_WORDS = re.compile(r"[\s,，、/]+")
_NUMBERS = re.compile(r"[0-9]+")


def resident_label(resident: Resident) -> str:
    """张桂兰（3号楼2单元501）: the name and the door, as the forms list them."""
    household = resident.household
    return f"{resident.name}（{household.address}）"


class ResidentPicker(forms.Widget):
    """The widget of a resident field. `compound_id` scopes the search (set by the form)."""

    template_name = "residents/_picker.html"

    def __init__(self, *, compound_id: int | None = None, attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.compound_id = compound_id
        # ModelChoiceField hands its ModelChoiceIterator here (its queryset decides validity).
        self.choices: Any = ()

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        chosen = None
        queryset = getattr(self.choices, "queryset", None)
        if value not in (None, "") and queryset is not None:
            try:
                chosen = queryset.select_related("household__building").filter(pk=value).first()
            except (ValueError, TypeError):
                chosen = None
        context["widget"].update(
            {
                "chosen": chosen,
                "options": [(chosen, resident_label(chosen))] if chosen else [],
                "search_url": reverse("residents:pick")
                + "?"
                + urlencode({"compound": self.compound_id or "", "field": name}),
            }
        )
        return context

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


def search(queryset: QuerySet[Resident], text: str) -> QuerySet[Resident]:
    """Residents whose name holds each word, or whose building, unit or room is each number:
    "张", "501", "3-2-501", "3号楼 501"."""
    for word in [w for w in _WORDS.split(text) if w]:
        numbers = _NUMBERS.findall(word)
        if not numbers:
            queryset = queryset.filter(name__icontains=word)
        for number in numbers:
            queryset = queryset.filter(
                Q(household__room__contains=number)
                | Q(household__building__number=number)
                | Q(household__unit=number)
            )
    return queryset


@login_required
def pick(request: AuthedHttpRequest) -> HttpResponse:
    """The radio buttons of the residents matching `<field>__q` in one compound (htmx)."""
    if not may_pick_residents(request.user):
        raise Http404  # the register's pages answer 404 to those who may not read them
    compound = get_visible_or_404(Compound, request.user, pk=int_param(request.GET, "compound"))
    field = str(request.GET.get("field") or "")
    if not _FIELD.fullmatch(field):
        field = "resident"
    text = text_param(request.GET, f"{field}__q", max_length=40).strip()
    residents = (
        Resident.objects.visible_to(request.user)
        .filter(compound=compound, left_on__isnull=True)
        .select_related("household__building")
    )
    chosen_pk = int_param(request.GET, field)
    chosen = residents.filter(pk=chosen_pk).first() if chosen_pk else None
    found: list[Resident] = []
    more = False
    if text:
        rows = list(search(residents, text).order_by("name", "pk")[: MAX_RESULTS + 1])
        more = len(rows) > MAX_RESULTS
        found = [r for r in rows[:MAX_RESULTS] if chosen is None or r.pk != chosen.pk]
    options = ([chosen] if chosen else []) + found
    return render(
        request,
        "residents/_picker_results.html",
        {
            "widget": {
                "name": field,
                "attrs": {"id": f"id_{field}"},
                "chosen": chosen,
                "options": [(r, resident_label(r)) for r in options],
                "searched": bool(text),
                "more": more,
            }
        },
    )
