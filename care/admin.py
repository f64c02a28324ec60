from django.contrib import admin

from accounts.admin import ScopedAdminMixin

from .models import CarePlan, Need, WelfareCheck


class ReadOnlyForStaff(ScopedAdminMixin, admin.ModelAdmin):
    """Checks, needs and plans are kept on the app's pages, whose services check the rules;
    the admin shows them, scoped to the user's places, and lets the city's administrators mend
    them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(WelfareCheck)
class WelfareCheckAdmin(ReadOnlyForStaff):
    # No resident column or search: names and phones are read on the pages, masked as there.
    list_display = ("date", "compound", "category", "volunteer", "outcome", "mood", "done_at")
    list_filter = ("outcome", "category", "date")
    list_select_related = ("compound", "volunteer")
    date_hierarchy = "date"
    raw_id_fields = ("resident", "household", "compound", "volunteer", "done_by")


@admin.register(Need)
class NeedAdmin(ReadOnlyForStaff):
    list_display = ("compound", "kind", "status", "created_at")
    list_filter = ("kind", "status")
    list_select_related = ("compound",)
    raw_id_fields = ("resident", "compound", "welfare_check", "created_by", "handled_by")


@admin.register(CarePlan)
class CarePlanAdmin(ReadOnlyForStaff):
    list_display = ("community", "category", "every_days", "active")
    list_filter = ("category", "active")
    list_select_related = ("community",)
    raw_id_fields = ("community",)
