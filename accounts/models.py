"""Users and their role.

accounts sits at the bottom of the import graph: it knows the levels of the place tree, not the
place models themselves (those live in compounds, which imports this app). Where a user serves
is a set of postings, rows of compounds.Posting with real foreign keys to the places;
accounts.access reads them through the source compounds registers.
"""

from typing import Any, ClassVar, Self

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    DISTRICT = "district", _("District")
    SUBDISTRICT = "subdistrict", _("Sub-district")
    COMMUNITY = "community", _("Community")
    COMPOUND = "compound", _("Compound")


class Role(models.TextChoices):
    DISTRICT_STAFF = "district_staff", _("District staff")
    SUBDISTRICT_STAFF = "subdistrict_staff", _("Sub-district staff")
    SECRETARY = "secretary", _("Community secretary")
    VOLUNTEER = "volunteer", _("Volunteer")
    MEDIC = "medic", _("Medical staff")


# The level of the place tree each role is usually posted at (a sensible default for forms;
# a posting may name any level).
ROLE_LEVEL: dict[str, Level] = {
    Role.DISTRICT_STAFF: Level.DISTRICT,
    Role.SUBDISTRICT_STAFF: Level.SUBDISTRICT,
    Role.SECRETARY: Level.COMMUNITY,
    Role.VOLUNTEER: Level.COMPOUND,
    Role.MEDIC: Level.COMPOUND,
}


class UserQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> Self:
        """Accounts are managed by superusers; everyone else sees only their own."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(pk=user.pk)


# django-stubs resolves from_queryset() on a plain Manager, not on the generic UserManager.
class ScopedUserManager(UserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    objects: ClassVar[ScopedUserManager] = ScopedUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        """Family name first, as Chinese names are written; the user name if there is none."""
        return f"{self.last_name}{self.first_name}".strip() or self.username

    def __str__(self) -> str:
        return self.display_name
