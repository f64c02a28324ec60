from django.contrib import admin

from accounts.admin import ReadOnlyAdminMixin, ScopedAdminMixin

from .models import (
    CampaignText,
    Certificate,
    Check,
    Checklist,
    ChecklistGroup,
    ChecklistItem,
    PublicityRecord,
)


class SuperuserEdits(ScopedAdminMixin, admin.ModelAdmin):
    """Kept on the campaign's pages, whose services check the rules (evidence, eligibility,
    bounds); the admin shows them and lets the city's administrators mend them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Checklist)
class ChecklistAdmin(SuperuserEdits):
    list_display = ("district", "no_case_days", "updated_at")
    raw_id_fields = ("district",)


@admin.register(ChecklistGroup)
class ChecklistGroupAdmin(SuperuserEdits):
    list_display = ("title", "checklist", "position")
    raw_id_fields = ("checklist",)


@admin.register(ChecklistItem)
class ChecklistItemAdmin(SuperuserEdits):
    list_display = ("text", "group", "kind", "needs_evidence", "retired_at")
    list_filter = ("kind",)
    list_select_related = ("group",)
    raw_id_fields = ("group", "replaced_by")


@admin.register(Check)
class CheckAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("item", "assessment", "met", "checked_by", "checked_at")
    list_filter = ("met",)
    list_select_related = ("item", "assessment", "assessment__compound", "checked_by")


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("number", "compound", "status", "certified_at", "revoked_at")
    list_filter = ("status",)
    list_select_related = ("compound",)
    search_fields = ("number", "compound__name")
    exclude = ("token",)


@admin.register(PublicityRecord)
class PublicityRecordAdmin(SuperuserEdits):
    list_display = ("day", "community", "kind", "count", "place")
    list_filter = ("kind",)
    list_select_related = ("community",)
    raw_id_fields = ("community", "recorded_by")


@admin.register(CampaignText)
class CampaignTextAdmin(SuperuserEdits):
    list_display = ("title", "district", "kind", "updated_at")
    raw_id_fields = ("district", "updated_by")
