import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ExemptReason, PersonKind, Place, TubeKind


class RoundForm(forms.Form):
    district = forms.TypedChoiceField(label=_("District"), coerce=int)
    number = forms.IntegerField(label=_("Round"), min_value=1, max_value=999)
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, districts=(), next_number=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [(d.pk, d.name) for d in districts]
        # The round after the district's last (offered where the user answers for one).
        self.fields["number"].initial = next_number
        today = timezone.localdate()
        self.fields["starts_on"].initial = today
        self.fields["ends_on"].initial = today + datetime.timedelta(days=1)


class TubeForm(forms.Form):
    barcode = forms.CharField(
        label=_("Tube barcode"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "off", "inputmode": "text"}
        ),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=TubeKind.choices, initial=TubeKind.POOL10)


class ScanForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    code = forms.CharField(
        label=_("Resident's code"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    resident = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ExemptForm(forms.Form):
    resident = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.ChoiceField(label=_("Reason"), choices=ExemptReason.choices)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Result sheet (xlsx or csv)"))


class ContactForm(forms.Form):
    resident = forms.TypedChoiceField(label=_("Resident"), coerce=int)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[c for c in PersonKind.choices if c[0] != "case"]
    )
    place = forms.ChoiceField(label=_("Kept at"), choices=Place.choices, initial=Place.HOME)
    starts_on = forms.DateField(
        label=_("Quarantine from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=28, initial=7)

    def __init__(self, *args, residents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].choices = [
            (r.pk, f"{r.household.address} {r.name}") for r in residents
        ]
        self.fields["starts_on"].initial = timezone.localdate()


class ReportForm(forms.Form):
    temperature = forms.CharField(
        label=_("Temperature (°C)"),
        max_length=5,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    symptoms = forms.CharField(label=_("Symptoms"), max_length=200, required=False)


class SlotForm(forms.Form):
    place = forms.CharField(label=_("Sampling point"), max_length=60)
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))
    buildings = forms.TypedMultipleChoiceField(
        label=_("Buildings (none: all)"), coerce=int, required=False
    )

    def __init__(self, *args, buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buildings"].choices = [(b.pk, b.label) for b in buildings]
