from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ItemKind, PublicityKind, TextKind
from .rules import COVERAGE_RANGE, NO_CASE_DAYS_RANGE, ROUNDS_RANGE


class DaysForm(forms.Form):
    no_case_days = forms.IntegerField(
        label=_("Days without a positive case"),
        min_value=NO_CASE_DAYS_RANGE[0],
        max_value=NO_CASE_DAYS_RANGE[1],
    )
    rounds = forms.IntegerField(
        label=_("Testing rounds looked at (the last K)"),
        min_value=ROUNDS_RANGE[0],
        max_value=ROUNDS_RANGE[1],
    )
    coverage = forms.IntegerField(
        label=_("Coverage each of them must reach (percent)"),
        min_value=COVERAGE_RANGE[0],
        max_value=COVERAGE_RANGE[1],
    )


class GroupForm(forms.Form):
    title = forms.CharField(label=_("Group title"), max_length=100)


class ItemForm(forms.Form):
    group = forms.IntegerField(widget=forms.HiddenInput)
    text = forms.CharField(label=_("Item"), max_length=300)
    kind = forms.ChoiceField(label=_("How it is met"), choices=ItemKind.choices)
    needs_evidence = forms.BooleanField(label=_("Needs evidence"), required=False, initial=True)


class ItemEditForm(forms.Form):
    text = forms.CharField(label=_("Item"), max_length=300)
    needs_evidence = forms.BooleanField(label=_("Needs evidence"), required=False)


class CheckForm(forms.Form):
    met = forms.TypedChoiceField(
        label=_("Finding"),
        choices=[("1", _("Met")), ("0", _("Not met"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Evidence"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photo = forms.FileField(label=_("Photo (optional)"), required=False)


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class PublicityForm(forms.Form):
    community = forms.TypedChoiceField(label=_("Community"), coerce=int, choices=[])
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("Kind"), choices=PublicityKind.choices)
    count = forms.IntegerField(label=_("Count"))
    place = forms.CharField(label=_("Place"), max_length=100)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, communities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(c.pk, c.name) for c in communities]


class TextForm(forms.Form):
    kind = forms.ChoiceField(choices=TextKind.choices, widget=forms.HiddenInput)
    title = forms.CharField(label=_("Title"), max_length=60)
    body = forms.CharField(
        label=_("Text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 8})
    )
