"""Forms of the care app; every value is checked again by rules.py in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from residents.models import Category
from volunteers.models import Volunteer

from . import rules
from .models import Mood, NeedKind, Outcome

RECORDABLE = [(v, label) for v, label in Outcome.choices if v != Outcome.OPEN]


class RecordForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=RECORDABLE)
    mood = forms.ChoiceField(label=_("Mood"), choices=[("", "—"), *Mood.choices], required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=rules.NOTE_MAX)
    need_kind = forms.ChoiceField(
        label=_("Needs"), choices=[("", "—"), *NeedKind.choices], required=False
    )
    need_text = forms.CharField(
        label=_("What is needed"), required=False, max_length=rules.NOTE_MAX
    )


class PlanForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    every_days = forms.IntegerField(
        label=_("Every (days)"), min_value=1, max_value=rules.MAX_EVERY_DAYS, initial=1
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class ReassignForm(forms.Form):
    volunteer: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Volunteer"), queryset=Volunteer.objects.none(), required=False
    )

    def __init__(self, *args, volunteers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["volunteer"].queryset = volunteers
