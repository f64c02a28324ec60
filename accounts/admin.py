from typing import ClassVar

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from rest_framework.authtoken.models import TokenProxy
from simple_history.admin import SimpleHistoryAdmin

from .models import User


class ScopedAdminMixin:
    """Admin pages read through visible_to: a changelist, a change page and every foreign-key
    drop-down show only what lies under the admin user's node (superusers see all)."""

    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        manager = db_field.related_model._default_manager
        if hasattr(manager, "visible_to"):
            kwargs["queryset"] = manager.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        manager = db_field.related_model._default_manager
        if hasattr(manager, "visible_to"):
            kwargs["queryset"] = manager.visible_to(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ReadOnlyAdminMixin:
    """Records kept by the system (status changes, personal-data access): looked at, never
    edited or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScopedHistoryAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """SimpleHistoryAdmin falls back to the history table when an object is not in
    get_queryset, and its version view reads the history table directly: both would show an
    outsider another community's records. Refuse them unless the live object is visible."""

    def _require_visible(self, request, object_id) -> None:
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_form_view(
            request, object_id, version_id, extra_context=extra_context
        )


# Django's own admin wording, translated in this project's catalogue (which comes first): "选择
# 小区 来修改" reads "选择要修改的小区" here, as the pages would say it.
ADMIN_WORDING = (
    gettext_noop("Select %s to change"),
    gettext_noop("Select %s to view"),
    gettext_noop("Add %s"),
    gettext_noop("Change %s"),
    gettext_noop("View %s"),
    gettext_noop("Delete %s"),
)


@admin.register(User)
class UserAdmin(ScopedAdminMixin, BaseUserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (
        # django-stubs types ModelAdmin.fieldsets as optional; the auth UserAdmin sets it.
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Role"), {"fields": ("role", "phone")}),
    )
    inlines: ClassVar[list[type[InlineModelAdmin]]] = []


def register_user_inline(inline: type[InlineModelAdmin]) -> None:
    """An upper app shows its rows about a user on the user's admin page (compounds: the
    postings). Called from the app's admin module."""
    if inline not in UserAdmin.inlines:
        UserAdmin.inlines.append(inline)


class SuperuserOnlyAdmin:
    """For tables that are not tied to the place tree (login attempts, API tokens, groups):
    they mention users of every community, so only superusers may open them."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


def _restrict_to_superusers(*models) -> None:
    for model in models:
        if not admin.site.is_registered(model):
            continue
        base = type(admin.site.get_model_admin(model))
        admin.site.unregister(model)
        restricted = type(f"SuperuserOnly{base.__name__}", (SuperuserOnlyAdmin, base), {})
        admin.site.register(model, restricted)


_restrict_to_superusers(Group, TokenProxy, AccessAttempt, AccessLog, AccessFailureLog)
