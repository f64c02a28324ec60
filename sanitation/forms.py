"""Forms of the sanitation pages. They parse; the rules (times, windows, who may) are checked
by the services, whose refusals land on the fields (wuyi.lib.errors.add_to_form)."""

import datetime
from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compounds.models import Building
from volunteers.models import Team, Volunteer

from . import rules
from .models import Area, AreaKind, Method


class AreaForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60, help_text=_("e.g. 3号楼电梯"))
    kind = forms.ChoiceField(label=_("Kind"), choices=AreaKind.choices)
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices)
    times = forms.CharField(
        label=_("Round times"),
        max_length=200,
        help_text=_("Times of day, separated by spaces: 08:00 12:00 18:00."),
    )
    window_minutes = forms.IntegerField(
        label=_("Minutes to do a round"),
        initial=60,
        help_text=_("A round not done this long after it starts is overdue."),
    )
    building = forms.ModelChoiceField(
        label=_("Building"), queryset=Building.objects.none(), required=False
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("The compound's cleaners"),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, buildings, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["building"]).queryset = buildings
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams

    @staticmethod
    def initial_of(area: Area) -> dict:
        return {
            "name": area.name,
            "kind": area.kind,
            "method": area.method,
            "times": " ".join(area.times),
            "window_minutes": area.window_minutes,
            "building": area.building_id,
            "team": area.team_id,
            "active": area.active,
        }


class RoundAddForm(forms.Form):
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.none())
    at = forms.CharField(label=_("Time"), max_length=5, help_text=_("e.g. 14:30"))
    assignee = forms.ModelChoiceField(
        label=_("Cleaner"), queryset=Volunteer.objects.none(), required=False
    )

    def __init__(self, *args, areas, cleaners, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["area"]).queryset = areas
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = cleaners


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Cleaner"),
        queryset=Volunteer.objects.none(),
        required=False,
        empty_label=_("Nobody"),
    )

    def __init__(self, *args, cleaners, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = cleaners


class DoneForm(forms.Form):
    photo = forms.FileField(label=_("Photo (optional)"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    # Its length is checked by the service (a refusal the page shows), not dropped here.
    override_reason = forms.CharField(label=_("Why without the code"), required=False)


class WasteForm(forms.Form):
    bags = forms.IntegerField(label=_("Bags collected"), min_value=0, max_value=rules.MAX_BAGS)
    weight_kg = forms.DecimalField(
        label=_("Weight (kg)"), max_digits=6, decimal_places=1, min_value=0, required=False
    )
    handed_to = forms.CharField(
        label=_("Handed to"),
        max_length=60,
        required=False,
        help_text=_("The collector's name and unit."),
    )
    handed_at = forms.TimeField(label=_("Handed over at"), required=False)
    cleared = forms.BooleanField(label=_("Cleared"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def handed_at_on(self, day: datetime.date) -> datetime.datetime | None:
        at = self.cleaned_data.get("handed_at")
        if at is None:
            return None
        return timezone.make_aware(datetime.datetime.combine(day, at))
