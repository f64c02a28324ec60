from django.contrib import admin

from accounts.admin import ScopedAdminMixin

from .models import (
    HealthReport,
    Quarantine,
    ResultImport,
    Retest,
    SamplingSlot,
    TestingRound,
    Tube,
)


class ReadOnlyForStaff(ScopedAdminMixin, admin.ModelAdmin):
    """Rounds, tubes, results and cases are kept on the app's pages, whose services check the
    rules (a full tube, a case through the compounds app); the admin shows them and lets the
    city's administrators mend them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(TestingRound)
class TestingRoundAdmin(ReadOnlyForStaff):
    list_display = ("number", "district", "starts_on", "ends_on", "status")
    list_filter = ("status",)
    list_select_related = ("district",)
    raw_id_fields = ("district", "created_by")


@admin.register(Tube)
class TubeAdmin(ReadOnlyForStaff):
    list_display = ("barcode", "round", "compound", "kind", "size", "status", "result")
    list_filter = ("kind", "status", "result")
    list_select_related = ("round", "compound")
    search_fields = ("barcode",)
    raw_id_fields = ("round", "compound", "opened_by")


@admin.register(Retest)
class RetestAdmin(ReadOnlyForStaff):
    list_display = ("round", "compound", "pool", "status")
    list_filter = ("status",)
    list_select_related = ("round", "compound", "pool")
    raw_id_fields = ("round", "compound", "resident", "household", "pool", "tube")


@admin.register(ResultImport)
class ResultImportAdmin(ReadOnlyForStaff):
    list_display = ("file_name", "round", "rows", "matched", "positive_pools", "cases", "at")
    list_select_related = ("round",)
    raw_id_fields = ("round", "by")


@admin.register(Quarantine)
class QuarantineAdmin(ReadOnlyForStaff):
    list_display = ("kind", "compound", "place", "starts_on", "ends_on", "released_at")
    list_filter = ("kind", "place")
    list_select_related = ("compound",)
    raw_id_fields = (
        "compound",
        "resident",
        "source",
        "positive_case",
        "tube",
        "released_by",
        "created_by",
    )


@admin.register(HealthReport)
class HealthReportAdmin(ReadOnlyForStaff):
    list_display = ("day", "compound", "temperature")
    list_select_related = ("compound",)
    raw_id_fields = ("quarantine", "compound", "by")


@admin.register(SamplingSlot)
class SamplingSlotAdmin(ReadOnlyForStaff):
    list_display = ("place", "round", "compound", "starts_at", "ends_at")
    list_select_related = ("round", "compound")
    raw_id_fields = ("round", "compound", "created_by")
