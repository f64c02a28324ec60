from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from compounds.models import Building, Compound
from wuyi.lib import cn

from . import rules
from .models import Category, Gender, Household, LeftReason


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Resident list (xlsx or csv)"),
        error_messages={
            "required": _("Choose the file to upload."),
            "empty": _("The file is empty."),
        },
    )
    compound: "forms.ModelChoiceField[Compound]" = forms.ModelChoiceField(
        label=_("Compound"),
        queryset=None,
        required=False,
        empty_label=_("Named in the file's 小区 column"),
        help_text=_("The compound the listed residents live in, unless the file says."),
    )

    def __init__(self, *args, compounds, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["compound"])
        field.queryset = compounds
        only = list(compounds[:2])
        # One compound: nothing to choose, every resident on the list lives there. Several:
        # the choice is made before the upload (or left to the file's 小区 column).
        self.only_compound = only[0] if len(only) == 1 else None
        if self.only_compound is not None:
            field.initial = self.only_compound.pk
            field.widget = forms.HiddenInput()


class RuleForm(forms.Form):
    """A form whose fields are cleaned by the register's rules: `rules` maps a field to the
    function that cleans it (the same the API, the import and the services call)."""

    rules: dict = {}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field, rule in self.rules.items():
            setattr(self, f"clean_{field}", self._cleaner(field, rule))

    def _cleaner(self, field: str, rule):
        def clean():
            try:
                return rule(self.cleaned_data[field])
            except cn.NormalizeError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None

        return clean


class ResidentForm(RuleForm):
    rules = {
        "name": cn.clean_name,
        "national_id": cn.normalize_national_id,
        "relation": rules.clean_relation,
        "notes": rules.clean_notes,
        "birth_date": rules.clean_birth_date,
    }
    KEEP = object()  # a field left as it was shown: keep the registered value

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
    notes = forms.CharField(
        label=_("Notes"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, masked_phone: str = "", with_id: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.masked_phone = masked_phone
        if with_id:
            # Read off the registered ID number; shown only with the recorded full view.
            del self.fields["birth_date"]

    def clean_phone(self):
        value = self.cleaned_data["phone"]
        if self.masked_phone and value.strip() == self.masked_phone:
            return self.KEEP  # still the mask: the user did not change the phone
        try:
            return cn.normalize_phone(value)
        except cn.NormalizeError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class HouseholdForm(RuleForm):
    rules = {"unit": rules.clean_unit, "notes": rules.clean_notes}

    building: "forms.ModelChoiceField[Building]" = forms.ModelChoiceField(
        label=_("Building"), queryset=None
    )
    unit = forms.CharField(label=_("Unit"), max_length=10, required=False)
    room = forms.CharField(
        label=_("Room"),
        max_length=20,
        help_text=_("For example 501, or the whole address: 3-2-501, 3号楼2单元501室."),
    )
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)

    def __init__(self, *args, buildings, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["building"]).queryset = buildings


class LeaveForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=LeftReason.choices)
    on = forms.DateField(label=_("Date"), required=False, help_text=_("Today when left empty."))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class MergeForm(forms.Form):
    target: "forms.ModelChoiceField[Household]" = forms.ModelChoiceField(
        label=_("Merge into household"),
        queryset=None,
        help_text=_("Its residents move there and this household is removed."),
    )

    def __init__(self, *args, households, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["target"]).queryset = households


class TagForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    details = forms.CharField(label=_("Details"), max_length=200, required=False)
    due_date = forms.DateField(label=_("Due date"), required=False)
    treatment = forms.CharField(label=_("Treatment"), max_length=50, required=False)
    schedule = forms.CharField(label=_("Schedule"), max_length=100, required=False)


class FullExportForm(forms.Form):
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=200,
        help_text=_("Why the full numbers are needed, e.g. 核酸采样登记, 上报疾控中心."),
        error_messages={"required": _("Say why the full numbers are needed.")},
    )
    confirm = forms.BooleanField(
        label=_("I will keep the file safe and delete it when the task is done."),
        error_messages={"required": _("Confirm that you will keep the file safe.")},
    )

    def clean_purpose(self) -> str:
        try:
            return cn.clean_text(self.cleaned_data["purpose"], max_length=200, field="purpose")
        except cn.NormalizeError as exc:
            raise forms.ValidationError(exc.message) from None
