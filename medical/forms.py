"""Forms of the medical pages. They parse; the rules (clashes, the past, who may) are checked
by the services, whose refusals land on the fields (wuyi.lib.errors.add_to_form)."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from residents.models import Resident
from residents.picker import ResidentPicker, resident_label

from .models import Ambulance, EscortKind, Hospital, MedicalStaff, ScheduleStatus

BOOKABLE = [(k, label) for k, label in EscortKind.choices if k != EscortKind.EMERGENCY]
WEEKDAYS = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]


class ResidentChoice(forms.ModelChoiceField):
    """A resident by name and where they live (the phone is never in a list), picked with a
    search box (residents.picker), not a select of the whole compound."""

    widget = ResidentPicker

    def label_from_instance(self, obj: Any) -> str:
        return resident_label(obj)


def _querysets(form: forms.Form, **querysets: Any) -> None:
    for name, queryset in querysets.items():
        cast(forms.ModelChoiceField, form.fields[name]).queryset = queryset
    resident = form.fields.get("resident")
    if resident is not None and isinstance(resident.widget, ResidentPicker):
        # The search is scoped to the compound the residents' queryset is of.
        compound = getattr(form, "compound_id", None)
        resident.widget.compound_id = compound


class EscortForm(forms.Form):
    resident = ResidentChoice(label=_("Resident"), queryset=Resident.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=BOOKABLE)
    hospital = forms.ModelChoiceField(label=_("Hospital"), queryset=Hospital.objects.none())
    scheduled_at = forms.DateTimeField(
        label=_("Pickup at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    duration_minutes = forms.IntegerField(
        label=_("Minutes until back"), initial=240, min_value=1, max_value=10_000
    )
    ambulance = forms.ModelChoiceField(
        label=_("Ambulance"),
        queryset=Ambulance.objects.none(),
        required=False,
        empty_label=_("Assign later"),
    )
    staff = forms.ModelChoiceField(
        label=_("Escort staff"), queryset=MedicalStaff.objects.none(), required=False
    )
    pickup = forms.CharField(
        label=_("Pickup"),
        max_length=60,
        required=False,
        help_text=_("Empty: the building and unit."),
    )
    notes = forms.CharField(label=_("Notes"), max_length=500, required=False)

    def __init__(
        self, *args, residents, hospitals, ambulances, staff, compound_id=None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.compound_id = compound_id
        _querysets(self, resident=residents, hospital=hospitals, ambulance=ambulances, staff=staff)


class AssignForm(forms.Form):
    ambulance = forms.ModelChoiceField(label=_("Ambulance"), queryset=Ambulance.objects.none())
    staff = forms.ModelChoiceField(
        label=_("Escort staff"), queryset=MedicalStaff.objects.none(), required=False
    )

    def __init__(self, *args, ambulances, staff, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _querysets(self, ambulance=ambulances, staff=staff)


class StepForm(forms.Form):
    to = forms.CharField(max_length=12)
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)


class ScheduleForm(forms.Form):
    resident = ResidentChoice(label=_("Resident"), queryset=Resident.objects.none())
    kind = forms.ChoiceField(label=_("Treatment"), choices=BOOKABLE)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    time = forms.TimeField(
        label=_("Pickup time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    duration_minutes = forms.IntegerField(
        label=_("Minutes until back"), initial=240, min_value=1, max_value=10_000
    )
    hospital = forms.ModelChoiceField(label=_("Hospital"), queryset=Hospital.objects.none())
    ambulance = forms.ModelChoiceField(
        label=_("Ambulance"),
        queryset=Ambulance.objects.none(),
        required=False,
        empty_label=_("Assign each time"),
    )
    staff = forms.ModelChoiceField(
        label=_("Escort staff"), queryset=MedicalStaff.objects.none(), required=False
    )
    start_date = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)

    def __init__(
        self, *args, residents, hospitals, ambulances, staff, compound_id=None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.compound_id = compound_id
        _querysets(self, resident=residents, hospital=hospitals, ambulance=ambulances, staff=staff)


class ScheduleStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ScheduleStatus.choices)


class EmergencyForm(forms.Form):
    resident = ResidentChoice(label=_("Resident"), queryset=Resident.objects.none())
    symptom = forms.CharField(label=_("What happened"), max_length=200)
    at = forms.DateTimeField(
        label=_("Time"),
        required=False,
        help_text=_("Empty: now. An earlier time logs an emergency after the fact."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args, residents, compound_id=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.compound_id = compound_id
        _querysets(self, resident=residents)
