from typing import Any, ClassVar

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin import SimpleListFilter, widgets
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from rest_framework.authtoken.models import TokenProxy
from simple_history.admin import SimpleHistoryAdmin

from wuyi.lib.pii import is_personal_field

from .models import User

# What a declared list filter (or the date hierarchy) writes after its field path in the query
# string: ?status__exact=, ?date__gte=&date__lt=, ?compound__id__exact=, ?date__year=.
FILTER_SUFFIXES = ("", "exact", "isnull", "isempty", "in", "gt", "gte", "lt", "lte")
DATE_HIERARCHY_SUFFIXES = ("year", "month", "day", "gte", "lt")


def declared_field_paths(model_admin: Any, request: Any = None) -> list[str]:
    """The field paths an admin declares to filter on: its list filters and date hierarchy."""
    filters = (
        model_admin.get_list_filter(request) if request is not None else model_admin.list_filter
    )
    paths = []
    for item in filters:
        if isinstance(item, type) and issubclass(item, SimpleListFilter):
            continue  # a parameter of its own, not a field path
        path = item[0] if isinstance(item, list | tuple) else item
        paths.append(path.name if isinstance(path, models.Field) else path)
    if model_admin.date_hierarchy:
        paths.append(model_admin.date_hierarchy)
    return paths


def declared_lookups(model_admin: Any, request: Any = None) -> set[str]:
    """Every query-string lookup the admin's declared filters may send, and nothing else."""
    filters = (
        model_admin.get_list_filter(request) if request is not None else model_admin.list_filter
    )
    allowed = {
        str(item.parameter_name)
        for item in filters
        if isinstance(item, type) and issubclass(item, SimpleListFilter)
    }
    for path in declared_field_paths(model_admin, request):
        last: Any = get_fields_from_path(model_admin.model, path)[-1]
        stems = [path]
        if last.is_relation:
            stems += [f"{path}__{last.target_field.name}", f"{path}__pk"]
        allowed |= {
            stem + (f"__{suffix}" if suffix else "") for stem in stems for suffix in FILTER_SUFFIXES
        }
        if path == model_admin.date_hierarchy:
            allowed |= {f"{path}__{suffix}" for suffix in DATE_HIERARCHY_SUFFIXES}
    return allowed


def lookup_reaches_personal_data(model: type[models.Model], lookup: str) -> bool:
    """True when a lookup's field path touches a phone, a birth date or an ID-number column,
    on the model or through its relations (household__residents__phone__startswith)."""
    opts = model._meta
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return False  # a transform or a lookup name: the path ends here
        if is_personal_field(field):
            return True
        related = field.related_model if field.is_relation else None
        if related is None or isinstance(related, str):
            return False
        opts = related._meta
    return False


class DeclaredLookupsOnly:
    """The changelist answers only the lookups its declared filters make, never one that
    reaches personal data, whoever asks (superusers too: the admin masks for every role).

    Django's default lets any lookup on the model's own columns through
    (?id__exact=1195&phone__startswith=1984114 answered "1 居民" or "0 居民", which rebuilt a
    phone number digit by digit); a refused one answers 400 (DisallowedModelAdminLookup)."""

    model: type[models.Model]

    def lookup_allowed(self, lookup: str, value: Any, request: Any = None) -> bool:
        if lookup_reaches_personal_data(self.model, lookup):
            return False
        if lookup in declared_lookups(self, request):
            return True
        # The raw-id popup filters by the foreign key's limit_choices_to: the admin's own.
        for fk_lookup in self.model._meta.related_fkey_lookups:
            if callable(fk_lookup):
                fk_lookup = fk_lookup()
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        return False


class ScopedAdminMixin(DeclaredLookupsOnly):
    """Admin pages read through visible_to: a changelist, a change page and every foreign-key
    drop-down show only what lies under the admin user's node (superusers see all). Its
    changelist answers only the lookups of its declared filters (DeclaredLookupsOnly)."""

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


class SuperuserOnlyAdmin(DeclaredLookupsOnly):
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
