from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Building, Compound, ControlStatus
from .services import REASON_MAX_LENGTH, allowed_targets

KEEP = ""  # to_status: keep the current status (only with a new positive case)


class StatusChangeForm(forms.Form):
    to_status = forms.ChoiceField(
        label=_("New status"),
        widget=forms.RadioSelect,
        required=False,
        error_messages={
            "invalid_choice": _("This compound cannot move to that status from where it is."),
        },
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: two positive cases found in building 3 in round 5."),
        error_messages={
            "max_length": _("The reason is too long: at most %(limit_value)d characters."),
        },
    )
    # A new positive case restarts the days without a case (新增阳性病例).
    new_case = forms.BooleanField(label=_("New positive case"), required=False)
    case_date = forms.DateField(
        label=_("Found on"),
        required=False,
        error_messages={"invalid": _("Enter a date like 2026-11-28.")},
    )
    case_building = forms.ModelChoiceField(
        label=_("In building"),
        queryset=Building.objects.none(),
        required=False,
        empty_label=_("Not known"),
    )
    # The status the user saw: lets the service tell a double submit from a real conflict.
    expected_from = forms.ChoiceField(choices=ControlStatus.choices, widget=forms.HiddenInput)

    def __init__(self, *args, compound: Compound, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        to_status = cast(forms.ChoiceField, self.fields["to_status"])
        to_status.choices = [
            (KEEP, _("Keep “%(status)s”") % {"status": ControlStatus(compound.status).label}),
            *((value, ControlStatus(value).label) for value in allowed_targets(compound.status)),
        ]
        self.fields["expected_from"].initial = compound.status
        self.fields["case_date"].initial = timezone.localdate()
        building = cast(forms.ModelChoiceField, self.fields["case_building"])
        building.queryset = compound.buildings.order_by("number")

    def clean(self) -> dict:
        data = super().clean() or {}
        reason = (data.get("reason") or "").strip()
        data["reason"] = reason
        if not data.get("new_case"):
            if not data.get("to_status"):
                self.add_error("to_status", _("Choose the new status."))
            elif not reason:
                self.add_error("reason", _("Give a reason for the change."))
        elif not data.get("case_date"):
            self.add_error("case_date", _("Enter the date the case was found."))
        elif data.get("to_status") and not reason:
            self.add_error("reason", _("Give a reason for the change."))
        return data
