import datetime
from typing import cast

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Membership, Team, TeamKind, Volunteer


class VolunteerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    phone = forms.CharField(
        label=_("Mobile number"), max_length=20, help_text=_("They log in with it.")
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"),
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_party_member = forms.BooleanField(label=_("Party member"), required=False)
    is_veteran = forms.BooleanField(label=_("Veteran"), required=False)

    def __init__(self, *args, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelMultipleChoiceField, self.fields["teams"]).queryset = teams


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=TeamKind.choices)
    compounds: forms.ModelMultipleChoiceField = forms.ModelMultipleChoiceField(
        label=_("Compounds it serves"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    leader = forms.ModelChoiceField(
        label=_("Leader"), queryset=Volunteer.objects.none(), required=False
    )

    def __init__(self, *args, compounds, volunteers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelMultipleChoiceField, self.fields["compounds"]).queryset = compounds
        cast(forms.ModelChoiceField, self.fields["leader"]).queryset = volunteers


class MemberForm(forms.Form):
    volunteer = forms.ModelChoiceField(label=_("Volunteer"), queryset=Volunteer.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)

    def __init__(self, *args, volunteers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["volunteer"]).queryset = volunteers


class BranchForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    compound: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Compound"),
        queryset=None,
        required=False,
        empty_label=_("The whole community"),
    )
    secretary = forms.ModelChoiceField(
        label=_("Branch secretary"), queryset=Volunteer.objects.none(), required=False
    )
    members = forms.ModelMultipleChoiceField(
        label=_("Members"),
        queryset=Volunteer.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    online = forms.BooleanField(label=_("Online branch"), required=False)
    chat_group = forms.CharField(
        label=_("Chat group"),
        max_length=80,
        required=False,
        help_text=_(
            "The group the branch coordinates in, e.g. “<community name> temporary party "
            "branch group”."
        ),
    )

    def __init__(self, *args, compounds, volunteers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["compound"]).queryset = compounds
        for name in ("secretary", "members"):
            cast(forms.ModelChoiceField, self.fields[name]).queryset = volunteers


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Shift"), max_length=40, help_text=_("e.g. 门岗, 配送, 消杀"))
    starts = forms.TimeField(label=_("Starts"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(label=_("Ends"), widget=forms.TimeInput(attrs={"type": "time"}))
    needed = forms.IntegerField(label=_("People needed"), min_value=1, max_value=50, initial=2)


class ApplyForm(forms.Form):
    first = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["first"].initial = today
        self.fields["last"].initial = today + datetime.timedelta(days=6)


class AssignForm(forms.Form):
    volunteer = forms.ModelChoiceField(label=_("Volunteer"), queryset=Volunteer.objects.none())

    def __init__(self, *args, volunteers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["volunteer"]).queryset = volunteers


class RangeForm(forms.Form):
    first = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if first and last and (last < first or (last - first).days > 366):
            raise forms.ValidationError(
                _("Choose a range of at most a year, ending after it starts.")
            )
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Volunteer list (xlsx or csv)"))
    skip_bad_rows = forms.BooleanField(
        label=_("Skip the bad rows and register the rest"), required=False
    )


class FirstPasswordForm(SetPasswordForm):
    """The password a volunteer chooses after their one-time link."""
