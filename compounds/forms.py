from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ControlStatus
from .services import REASON_MAX_LENGTH, allowed_targets


class StatusChangeForm(forms.Form):
    to_status = forms.ChoiceField(
        label=_("New status"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the new status."),
            "invalid_choice": _("This compound cannot move to that status from where it is."),
        },
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: two positive cases found in building 3 in round 5."),
        error_messages={
            "required": _("Give a reason for the change."),
            "max_length": _("The reason is too long: at most %(limit_value)d characters."),
        },
    )
    # The status the user saw: lets the service tell a double submit from a real conflict.
    expected_from = forms.ChoiceField(choices=ControlStatus.choices, widget=forms.HiddenInput)

    def __init__(self, *args, current_status: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["to_status"]).choices = [
            (value, ControlStatus(value).label) for value in allowed_targets(current_status)
        ]
        self.fields["expected_from"].initial = current_status

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give a reason for the change."))
        return reason
