from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from accounts.admin import ScopedAdminMixin
from wuyi.lib.errors import Refused

from . import services
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

    def get_form(self, request, obj=None, change=False, **kwargs):
        # A status change is checked on rules.AMBULANCE in the form (a refusal shows on the
        # field) and made through ambulance_set_status.
        base = super().get_form(request, obj, change=change, **kwargs)
        user = request.user

        class AmbulanceForm(base):
            def clean_status(self):
                status = self.cleaned_data["status"]
                if self.instance.pk and status != self.instance.status:
                    current = Ambulance.objects.get(pk=self.instance.pk).status
                    try:
                        services.check_ambulance_move(current, status, by=user)
                    except (Refused, PermissionDenied) as refused:
                        raise forms.ValidationError(str(refused)) from None
                return status

        return AmbulanceForm

    def save_model(self, request, obj, form, change):
        wanted = obj.status
        if change and "status" in form.changed_data:
            obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)
        if obj.status != wanted:
            services.ambulance_set_status(by=request.user, ambulance=obj, status=wanted)
            obj.status = wanted


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
