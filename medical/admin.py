from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin import ScopedAdminMixin

from .models import Ambulance, Escort, Hospital, MedicalStaff, Schedule, Service


class HospitalForm(forms.ModelForm):
    """诊疗服务 as boxes to tick, not a JSON list to type."""

    services = forms.MultipleChoiceField(
        label=_("services"),
        choices=Service.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the hospital takes: an escort goes only to one that offers its kind."),
    )

    class Meta:
        model = Hospital
        fields = [
            "name",
            "short_name",
            "address",
            "phone",
            "services",
            "districts",
            "compounds",
            "active",
        ]

    def clean_services(self) -> list[str]:
        chosen = set(self.cleaned_data.get("services") or [])
        return [value for value in Service.values if value in chosen]


@admin.register(Hospital)
class HospitalAdmin(ScopedAdminMixin, admin.ModelAdmin):
    form = HospitalForm
    list_display = ("name", "short_name", "phone", "active")
    search_fields = ("name", "short_name")
    filter_horizontal = ("districts",)
    raw_id_fields = ("compounds",)

    # A hospital is designated for many places: the city's administrators keep it.
    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(MedicalStaff)
class MedicalStaffAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "compound", "role", "active")
    list_filter = ("role", "active")
    list_select_related = ("compound",)
    search_fields = ("name", "compound__name")
    raw_id_fields = ("compound", "user")


@admin.register(Ambulance)
class AmbulanceAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("plate", "compound", "driver_name", "status")
    list_filter = ("status",)
    list_select_related = ("compound",)
    search_fields = ("plate", "compound__name")
    raw_id_fields = ("compound", "also_serves", "crew")


class ReadOnlyForStaff(ScopedAdminMixin, admin.ModelAdmin):
    """Escorts and schedules are kept on the app's pages, whose services check clashes and
    steps; the admin shows them and lets the city's administrators mend them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Escort)
class EscortAdmin(ReadOnlyForStaff):
    list_display = ("resident", "kind", "compound", "scheduled_at", "ambulance", "status")
    list_filter = ("kind", "status")
    list_select_related = ("resident", "compound", "ambulance")
    raw_id_fields = (
        "compound",
        "resident",
        "hospital",
        "ambulance",
        "staff",
        "schedule",
        "created_by",
    )
    readonly_fields = ("steps",)


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyForStaff):
    list_display = ("resident", "kind", "compound", "time", "status")
    list_filter = ("kind", "status")
    list_select_related = ("resident", "compound")
    raw_id_fields = ("compound", "resident", "hospital", "ambulance", "staff", "created_by")
