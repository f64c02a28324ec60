from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin

from accounts.admin import ReadOnlyAdminMixin, ScopedAdminMixin, ScopedHistoryAdmin
from wuyi.lib import cn
from wuyi.lib.errors import Refused

from . import rules, services
from .models import Household, ImportJob, PersonalDataAccess, Resident, VulnerableTag
from .resources import ResidentResource


class HouseholdAdminForm(forms.ModelForm):
    """The address is checked by the same rule as the pages, the API and the import."""

    class Meta:
        model = Household
        fields = ("building", "unit", "room", "notes")

    def clean(self):
        data = super().clean()
        building = data.get("building")
        if building is not None:
            try:
                address = rules.clean_address(building.number, data.get("unit"), data.get("room"))
            except cn.NormalizeError as exc:
                raise forms.ValidationError({exc.field or "room": exc.message}) from None
            data["unit"], data["room"] = address.unit, address.room
        return data


class RegisterReadersOnly:
    """The register's admin pages, like its pages, are for those who read the register: a
    volunteer or a medic made staff sees none of them."""

    def has_module_permission(self, request):
        return rules.may_read_register(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return rules.may_read_register(request.user) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return rules.may_read_register(request.user) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, *args):
        return rules.may_read_register(request.user) and super().has_add_permission(request, *args)

    def has_delete_permission(self, request, obj=None):
        return rules.may_read_register(request.user) and super().has_delete_permission(request, obj)


@admin.register(Household)
class HouseholdAdmin(RegisterReadersOnly, ScopedHistoryAdmin):
    form = HouseholdAdminForm
    list_display = ("compound", "building", "unit", "room")
    list_select_related = ("compound", "building")
    search_fields = ("room",)

    def save_model(self, request, obj, form, change):
        stored = Household.objects.get(pk=obj.pk) if change else None
        saved = services.household_save(
            by=request.user,
            building=form.cleaned_data["building"],
            unit=form.cleaned_data.get("unit", ""),
            room=form.cleaned_data["room"],
            notes=form.cleaned_data.get("notes", ""),
            household=stored,
        )
        obj.pk = saved.pk


class TagInline(admin.TabularInline):
    model = VulnerableTag
    extra = 0


# Shown by the pages only in the recorded full view: never in the admin, for any role (the
# admin records nothing). The phone is edited on the resident's own page.
UNMASKED_FIELDS = ("phone", "birth_date")


ADMIN_FIELDS = ("household", *(f for f in Resident.RECORD_FIELDS if f not in UNMASKED_FIELDS))


class ResidentAdminForm(forms.ModelForm):
    """The record is judged as a whole, by the same rule as resident_save."""

    class Meta:
        model = Resident
        fields = ADMIN_FIELDS

    def clean(self):
        data = super().clean()
        national_id = self.instance.national_id if self.instance.pk else ""
        record = {field: getattr(self.instance, field) for field in Resident.RECORD_FIELDS}
        record.update({field: data.get(field) for field in ADMIN_FIELDS if field in record})
        try:
            cleaned = rules.check_resident(record, national_id=national_id)
        except Refused as refused:
            raise forms.ValidationError(
                {f if f in self.fields else None: m for f, m in refused.errors.items()}
            ) from None
        data.update({field: cleaned[field] for field in ADMIN_FIELDS if field in cleaned})
        return data


@admin.register(Resident)
class ResidentAdmin(RegisterReadersOnly, ImportExportMixin, ScopedHistoryAdmin):
    """Masked exactly as the pages mask: the last four of the ID number, the phone masked, an
    age instead of the birth date. The full values are seen (and recorded) on the pages."""

    form = ResidentAdminForm
    resource_classes = [ResidentResource]
    list_display = ("name", "compound", "household", "gender", "age", "phone_masked")
    list_select_related = ("compound", "household__building")
    search_fields = ("name",)
    readonly_fields = ("national_id_masked", "phone_masked", "age")
    inlines = [TagInline]

    @admin.display(description=_("Age"))
    def age(self, obj: Resident) -> int | None:
        return obj.age

    @admin.display(description=_("Phone"))
    def phone_masked(self, obj: Resident) -> str:
        return obj.masked_phone

    @admin.display(description=_("ID number"))
    def national_id_masked(self, obj: Resident) -> str:
        return obj.masked_national_id

    def save_model(self, request, obj, form, change):
        stored = Resident.objects.get(pk=obj.pk) if change else None
        saved = services.resident_save(
            by=request.user,
            household=form.cleaned_data["household"],
            data={f: form.cleaned_data[f] for f in ADMIN_FIELDS if f in Resident.RECORD_FIELDS},
            resident=stored,
        )
        obj.pk = saved.pk

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """A past version's form shows every field as it was: no role sees that unmasked."""
        raise PermissionDenied

    def has_export_permission(self, request):
        # The committees export from the resident list (masked, or full on a recorded request);
        # the admin's export is for the city's administrators, and recorded as well.
        return request.user.is_active and request.user.is_superuser

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        services.record_admin_export(by=request.user, row_count=len(data))
        return data

    def get_resource_kwargs(self, request, *args, **kwargs):
        kwargs = super().get_resource_kwargs(request, *args, **kwargs)
        kwargs["households"] = Household.objects.visible_to(request.user)
        return kwargs

    def has_import_permission(self, request):
        # Lists come in through the secretary's import page, which explains every bad cell
        # and is all-or-nothing; the admin import is for the city's administrators.
        return request.user.is_superuser

    def get_export_queryset(self, request):
        return (
            super().get_export_queryset(request).select_related("compound", "household__building")
        )


@admin.register(VulnerableTag)
class VulnerableTagAdmin(RegisterReadersOnly, ScopedHistoryAdmin):
    list_display = ("resident", "category", "treatment", "schedule", "due_date")
    list_filter = ("category",)
    list_select_related = ("resident",)


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(
    RegisterReadersOnly, ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin
):
    list_display = ("at", "user", "kind", "community", "resident", "row_count")
    list_filter = ("kind",)
    list_select_related = ("user", "resident", "community")


@admin.register(ImportJob)
class ImportJobAdmin(RegisterReadersOnly, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "filename", "user", "community", "state", "total")
    list_select_related = ("user", "community")
    readonly_fields = ("report",)

    def has_add_permission(self, request):
        return False
