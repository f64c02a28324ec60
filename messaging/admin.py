from django.contrib import admin

from accounts.admin import ReadOnlyAdminMixin, ScopedAdminMixin, SuperuserOnlyAdmin

from .models import Budget, Message, OptOut, SmsTemplate


@admin.register(SmsTemplate)
class SmsTemplateAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    """City-wide: the templates the provider approved are entered by the city's administrators."""

    list_display = ("name", "code", "approved", "created_at")
    list_filter = ("approved",)
    search_fields = ("name", "code")


@admin.register(Budget)
class BudgetAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: amounts are set on the SMS budgets page (messaging:budgets), through
    budgets.budget_set and its checks (the admin would take a negative amount)."""

    list_display = (
        "community",
        "monthly_amount",
        "system_amount",
        "public_amount",
        "note",
        "updated_at",
    )
    list_select_related = ("community",)
    fields = list_display
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """What went out, as the pages show it: no number appears here."""

    list_display = ("template", "description", "send_at", "recipient_count", "cost_estimate")
    list_select_related = ("template",)
    fields = (
        "template",
        "variables",
        "purpose",
        "description",
        "sender",
        "community",
        "compound",
        "send_at",
        "urgent",
        "recipient_count",
        "segments",
        "cost_estimate",
        "allowance",
        "cancelled_at",
        "cancelled_by",
    )


@admin.register(OptOut)
class OptOutAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("masked_phone", "note", "community", "created_at")
    fields = ("masked_phone", "note", "community", "created_by", "created_at")
    readonly_fields = fields
