import uuid
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SmsTemplate


class CampaignForm(forms.Form):
    """The fixed fields of a campaign. The template's variables (var_<name>) and the chosen
    audience's targets (t:<audience>) depend on the choices and are read by the view."""

    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=SmsTemplate.objects.none(),
        empty_label=_("Choose a template"),
        error_messages={
            "required": _("Choose an SMS template."),
            "invalid_choice": _("Choose one of the approved templates."),
        },
    )
    audience = forms.ChoiceField(
        label=_("Send to"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose who the message goes to.")},
    )
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty to send now."),
        error_messages={"invalid": _("Enter a date and time, e.g. 2026-12-01 08:00.")},
    )
    urgent = forms.BooleanField(
        label=_("Urgent: send during quiet hours too (22:00–07:00)"), required=False
    )
    community = forms.ChoiceField(
        label=_("Community sending"),
        required=False,
        help_text=_(
            "Its SMS budget pays. A compound or buildings of one community are charged to "
            "that community."
        ),
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, templates, audiences, communities=(), **kwargs) -> None:
        kwargs.setdefault("initial", {}).setdefault("key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["template"]).queryset = templates
        cast(forms.ChoiceField, self.fields["audience"]).choices = audiences
        if communities:
            # Posted to several communities (or an administrator): say which one sends.
            cast(forms.ChoiceField, self.fields["community"]).choices = [
                ("", _("Choose a community")),
                *((str(c.pk), c.name) for c in communities),
            ]
        else:
            del self.fields["community"]


class OptOutForm(forms.Form):
    phone = forms.CharField(label=_("Mobile number"), max_length=30)
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("For example: asked by phone on 12-01."),
    )


class BudgetForm(forms.Form):
    """A community's monthly amounts, as typed: budgets.budget_set checks them (negative, two
    decimals at most, too large) and names the field at fault."""

    monthly_amount = forms.CharField(
        label=_("Monthly SMS budget (yuan)"),
        max_length=20,
        error_messages={"required": _("Enter the monthly budget in yuan.")},
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    system_amount = forms.CharField(
        label=_("Monthly allowance for system texts (yuan)"),
        max_length=20,
        required=False,
        help_text=_("Handover codes, login links, reminders. Empty: the default."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    public_amount = forms.CharField(
        label=_("Monthly allowance for codes residents ask for (yuan)"),
        max_length=20,
        required=False,
        help_text=_("Ordering codes sent through the ordering link. Empty: the default."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
