from django import forms
from django.utils.translation import gettext_lazy as _

from . import normalize
from .models import Category, Gender, Quarantine


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Resident list (xlsx or csv)"),
        error_messages={
            "required": _("Choose the file to upload."),
            "empty": _("The file is empty."),
        },
    )
    compound = forms.ModelChoiceField(
        label=_("Compound"),
        queryset=None,
        required=False,
        empty_label=_("Named in the file's 小区 column"),
        help_text=_("The compound the listed residents live in, unless the file says."),
    )

    def __init__(self, *args, compounds, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compound"].queryset = compounds


class ResidentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        help_text=_("Taken from the ID number when there is one."),
    )
    national_id = forms.CharField(label=_("ID number"), max_length=30, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    relation = forms.CharField(
        label=_("Relation to the household head"), max_length=20, required=False
    )
    quarantine = forms.ChoiceField(
        label=_("Quarantine"), choices=Quarantine.choices, required=False
    )
    quarantine_from = forms.DateField(label=_("Quarantine from"), required=False)
    quarantine_until = forms.DateField(label=_("Quarantine until"), required=False)
    notes = forms.CharField(
        label=_("Notes"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("The name is empty."))
        if any(ch in name for ch in '<>{}[]\\"`=|'):
            raise forms.ValidationError(
                _("The name contains symbols such as < > that a name cannot have.")
            )
        return name

    def clean_national_id(self) -> str:
        try:
            return normalize.normalize_national_id(self.cleaned_data["national_id"])
        except normalize.NormalizeError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_phone(self) -> str:
        try:
            return normalize.normalize_phone(self.cleaned_data["phone"])
        except normalize.NormalizeError as exc:
            raise forms.ValidationError(exc.message) from None


class TagForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    details = forms.CharField(label=_("Details"), max_length=200, required=False)
    due_date = forms.DateField(label=_("Due date"), required=False)
    treatment = forms.CharField(label=_("Treatment"), max_length=50, required=False)
    schedule = forms.CharField(label=_("Schedule"), max_length=100, required=False)
