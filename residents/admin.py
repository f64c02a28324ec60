from django.contrib import admin
from import_export.admin import ImportExportMixin

from accounts.admin import ReadOnlyAdminMixin, ScopedAdminMixin, ScopedHistoryAdmin

from .models import Household, ImportJob, PersonalDataAccess, Resident, VulnerableTag
from .resources import ResidentResource


@admin.register(Household)
class HouseholdAdmin(ScopedHistoryAdmin):
    list_display = ("compound", "building", "unit", "room")
    list_select_related = ("compound", "building")
    search_fields = ("room",)


class TagInline(admin.TabularInline):
    model = VulnerableTag
    extra = 0


@admin.register(Resident)
class ResidentAdmin(ImportExportMixin, ScopedHistoryAdmin):
    resource_classes = [ResidentResource]
    list_display = ("name", "compound", "household", "gender", "masked_phone", "masked_national_id")
    list_select_related = ("compound", "household__building")
    search_fields = ("name",)
    readonly_fields = ("masked_national_id",)
    exclude = ("id_cipher", "id_hash", "id_last4")
    inlines = [TagInline]

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
class VulnerableTagAdmin(ScopedHistoryAdmin):
    list_display = ("resident", "category", "treatment", "schedule", "due_date")
    list_filter = ("category",)
    list_select_related = ("resident",)


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("at", "user", "kind", "resident", "row_count")
    list_filter = ("kind",)
    list_select_related = ("user", "resident")


@admin.register(ImportJob)
class ImportJobAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "filename", "user", "community", "state", "total")
    list_select_related = ("user", "community")
    readonly_fields = ("report",)

    def has_add_permission(self, request):
        return False
