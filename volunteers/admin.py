from django.contrib import admin

from accounts.admin import ScopedAdminMixin

from .models import Assignment, Membership, PartyBranch, Shift, ShiftTemplate, Team, Volunteer


class ReadOnlyForStaff(ScopedAdminMixin, admin.ModelAdmin):
    """Volunteers are organised on the app's pages, whose services keep postings and shifts
    consistent; the admin shows them, and lets the city's administrators mend them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Volunteer)
class VolunteerAdmin(ReadOnlyForStaff):
    list_display = ("name", "community", "masked_phone", "is_party_member", "is_veteran")
    list_select_related = ("community",)
    search_fields = ("name",)
    exclude = ("phone",)
    readonly_fields = ("masked_phone",)


@admin.register(Team)
class TeamAdmin(ReadOnlyForStaff):
    list_display = ("name", "kind", "community", "leader")
    list_select_related = ("community", "leader")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyForStaff):
    list_display = ("team", "volunteer", "role")
    list_select_related = ("team", "volunteer")


@admin.register(PartyBranch)
class PartyBranchAdmin(ReadOnlyForStaff):
    list_display = ("name", "community", "compound", "online", "chat_group")
    list_select_related = ("community", "compound")


@admin.register(ShiftTemplate)
class ShiftTemplateAdmin(ReadOnlyForStaff):
    list_display = ("compound", "name", "starts", "ends", "needed")
    list_select_related = ("compound",)


@admin.register(Shift)
class ShiftAdmin(ReadOnlyForStaff):
    list_display = ("compound", "name", "date", "starts_at", "ends_at", "needed")
    list_select_related = ("compound",)
    list_filter = ("date",)


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyForStaff):
    list_display = ("shift", "volunteer", "checked_in_at", "checked_out_at")
    list_select_related = ("shift__compound", "volunteer")
