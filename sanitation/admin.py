from django.contrib import admin

from accounts.admin import ScopedAdminMixin

from .models import Area, Round, WasteRecord


class ReadOnlyForStaff(ScopedAdminMixin, admin.ModelAdmin):
    """Areas, rosters and the waste log are kept on the app's pages, whose services check the
    schedule rules; the admin shows them and lets the city's administrators mend them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Area)
class AreaAdmin(ReadOnlyForStaff):
    list_display = ("name", "compound", "kind", "method", "window_minutes", "active")
    list_filter = ("kind", "active")
    list_select_related = ("compound",)
    search_fields = ("name", "compound__name")
    raw_id_fields = ("compound", "building", "team")


@admin.register(Round)
class RoundAdmin(ReadOnlyForStaff):
    list_display = ("area", "compound", "date", "due_at", "assignee", "done_at", "timing")
    list_filter = ("timing", "date")
    list_select_related = ("area", "compound", "assignee")
    date_hierarchy = "date"
    raw_id_fields = ("area", "compound", "assignee", "done_by", "added_by")
    # Rounds are written by the roster job and the check-in; no admin edit changes their times.
    readonly_fields = ("due_at", "window_ends_at", "reminded_at", "escalated_at")


@admin.register(WasteRecord)
class WasteRecordAdmin(ReadOnlyForStaff):
    list_display = ("area", "compound", "date", "bags", "handed_to", "cleared")
    list_filter = ("cleared", "date")
    list_select_related = ("area", "compound")
    raw_id_fields = ("area", "compound", "collected_by")
