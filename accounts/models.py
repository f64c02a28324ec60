"""Users and their role.

accounts sits at the bottom of the import graph: it knows the levels of the place tree, not the
place models themselves (those live in compounds, which imports this app). Where a user serves
is a set of postings, rows of compounds.Posting with real foreign keys to the places;
accounts.access reads them through the source compounds registers.
"""

from typing import Any, ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
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

    def get_full_name(self) -> str:
        """Django's name for it (the admin, django-axes, third-party code): the display name,
        so that no page writes a name given name first."""
        return self.display_name

    def __str__(self) -> str:
        return self.display_name


# ----------------------------------------------------------------------------- in-app alerts


class Severity(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    URGENT = "urgent", _("Urgent")


class AlertQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> Self:
        """An alert is its addressee's alone: superusers too see only their own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(user_id=user.pk)

    def unread(self) -> Self:
        return self.filter(read_at__isnull=True)


class Alert(models.Model):
    """Something a user must know, shown under the bell on every page (the in-app channel).

    Any app raises one through accounts.services.alert_raise (in-app only) or, to reach a
    person by SMS as well and to tell the level above when they have no phone, through
    messaging.alerts.alert_deliver. The key makes a repeat (a sweep run twice, a retried task)
    the same alert: one row per user and key.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alerts",
        verbose_name=_("user"),
    )
    text = models.CharField(_("text"), max_length=300)
    # A path inside the site ("/sanitation/rounds/12/"), never an outside address.
    link = models.CharField(_("link"), max_length=300, blank=True)
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.WARNING
    )
    key = models.CharField(_("key"), max_length=120)
    # The person the alert was meant for, when it reached this user instead (no phone).
    about = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("on behalf of"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="alert_unique_key"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="alert_user_time_idx"),
            # The bell's count on every page: an index of the unread ones only.
            models.Index(
                fields=["user"],
                condition=models.Q(read_at__isnull=True),
                name="alert_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
