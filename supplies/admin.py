from django.contrib import admin

from accounts.admin import ScopedAdminMixin

from .models import CatalogueItem, GroupBuy, Order, Supplier


class ReadOnlyForStaff(ScopedAdminMixin, admin.ModelAdmin):
    """Supplies are kept on the app's pages, whose services check the rules and write the
    history; the admin shows them and lets the city's administrators mend them."""

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Supplier)
class SupplierAdmin(ReadOnlyForStaff):
    list_display = ("name", "community", "contact", "active")
    list_select_related = ("community",)
    search_fields = ("name",)
    raw_id_fields = ("community",)
    # The pages show no supplier's phone to staff either.
    exclude = ("phone",)


@admin.register(CatalogueItem)
class CatalogueItemAdmin(ReadOnlyForStaff):
    list_display = ("name", "unit", "price", "supplier", "active")
    list_select_related = ("supplier",)
    search_fields = ("name",)
    raw_id_fields = ("supplier",)


@admin.register(GroupBuy)
class GroupBuyAdmin(ReadOnlyForStaff):
    list_display = ("title", "community", "supplier", "deadline", "delivery_date", "status")
    list_filter = ("status",)
    list_select_related = ("community", "supplier")
    raw_id_fields = ("community", "supplier", "created_by", "compounds")


@admin.register(Order)
class OrderAdmin(ReadOnlyForStaff):
    list_display = ("pk", "compound", "household", "kind", "status", "amount_due", "paid")
    list_filter = ("status", "kind", "paid")
    list_select_related = ("compound", "household__building")
    raw_id_fields = ("compound", "building", "household", "group_buy", "claimed_by", "created_by")
    # The household's number and the handover code's hash stay out of the admin, as off the
    # pages; the lifecycle is the services' (history rows), not a form's.
    exclude = ("phone",)
    readonly_fields = ("status", "claimed_by", "claimed_at", "delivered_at", "delivered_how")
