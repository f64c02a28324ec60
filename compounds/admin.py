from django.contrib import admin

from accounts.admin import (
    ReadOnlyAdminMixin,
    ScopedAdminMixin,
    ScopedHistoryAdmin,
    register_user_inline,
)

from . import services
from .models import Building, Community, Compound, District, Posting, StatusChange, Subdistrict


class PlaceTreeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The districts, sub-districts and communities are set up by the city's administrators.
    Staff below see their ancestors (read only): editing or deleting one would reach, and on
    the delete page list, places outside their jurisdiction."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(District)
class DistrictAdmin(PlaceTreeAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Subdistrict)
class SubdistrictAdmin(PlaceTreeAdmin):
    list_display = ("code", "name", "district")
    search_fields = ("code", "name")
    list_select_related = ("district",)


@admin.register(Community)
class CommunityAdmin(PlaceTreeAdmin):
    list_display = ("code", "name", "subdistrict")
    search_fields = ("code", "name")
    list_select_related = ("subdistrict",)


class BuildingInline(admin.TabularInline):
    model = Building
    extra = 0


@admin.register(Compound)
class CompoundAdmin(ScopedHistoryAdmin):
    list_display = ("code", "name", "community", "status", "last_positive_on")
    list_filter = ("status",)
    search_fields = ("code", "name", "address")
    list_select_related = ("community",)
    inlines = [BuildingInline]

    def get_readonly_fields(self, request, obj=None):
        # The status moves only through compound_change_status, which checks and records it;
        # the last positive case through the status page (it restarts the quiet period); the
        # community through compound_move, for the city's administrators only.
        fields = ["status", "status_changed_at"]
        if not request.user.is_superuser:
            fields += ["last_positive_on", "community"]
        return fields

    def save_model(self, request, obj, form, change):
        if change and "community" in form.changed_data:
            services.compound_move(
                by=request.user, compound_id=obj.pk, community=form.cleaned_data["community"]
            )
            obj.refresh_from_db(fields=["community", "subdistrict", "district"])
            form.changed_data.remove("community")
        super().save_model(request, obj, form, change)


@admin.register(Building)
class BuildingAdmin(ScopedHistoryAdmin):
    list_display = ("compound", "number", "name", "unit_count", "floor_count")
    search_fields = ("name", "number", "compound__name")
    list_select_related = ("compound",)

    def get_readonly_fields(self, request, obj=None):
        # A building's households and residents carry its compound: moving the building alone
        # would leave them behind in the old one. There is no service that moves a building
        # with its households (a compound moves whole, through compound_move), so once a
        # building exists its compound is fixed, for every role.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "compound"] if obj is not None else fields


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("compound", "from_status", "to_status", "changed_by", "changed_at")
    list_filter = ("to_status",)
    list_select_related = ("compound", "changed_by")


class PostingInline(admin.TabularInline):
    """Where a user serves, on the user's admin page (superusers manage accounts)."""

    model = Posting
    extra = 1
    fields = ("district", "subdistrict", "community", "compound", "via")
    autocomplete_fields = ("district", "subdistrict", "community", "compound")


register_user_inline(PostingInline)


@admin.register(Posting)
class PostingAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("user", "district", "subdistrict", "community", "compound", "via")
    list_select_related = ("user", "district", "subdistrict", "community", "compound")
    search_fields = ("user__username",)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
