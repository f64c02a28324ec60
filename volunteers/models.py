"""Who serves a sealed compound: teams, the volunteers in them, temporary party branches,
shifts and who checked in when.

A volunteer is a user account (its user name is the phone number they log in with). A team
belongs to a community and serves some of its compounds; assigning it writes its members'
postings (compounds.Posting, via "team:<id>"), so a volunteer sees exactly what their teams
serve. A shift is a stretch of time at one compound; assignments say who works it and when
they checked in and out.
"""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.access import ScopedQuerySet
from accounts.models import Level
from compounds.models import Community, Compound, InCompoundQuerySet
from residents.models import Resident
from wuyi.lib import cn


class TeamKind(models.TextChoices):
    PARTY_VANGUARD = "party_vanguard", _("Party-member vanguard team")
    YOUTH = "youth", _("Youth volunteer team")
    VETERAN = "veteran", _("Veteran volunteer team")
    CADRE = "cadre", _("Cadres sent down")
    SOCIAL_WORK = "social_work", _("Social workers")
    CLEANING = "cleaning", _("Cleaners")
    OTHER = "other", _("Other volunteers")


class CommunityQuerySet(ScopedQuerySet):
    """Rows a community owns; seen by its secretary and the staff above."""

    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
    }


class TeamQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
        Level.COMPOUND: "compounds__id",
    }


class VolunteerQuerySet(ScopedQuerySet):
    """A volunteer is seen in their community and, by those at a compound, when one of their
    teams serves it."""

    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
        Level.COMPOUND: "memberships__team__compounds__id",
    }


class MembershipQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "team__community__subdistrict__district_id",
        Level.SUBDISTRICT: "team__community__subdistrict_id",
        Level.COMMUNITY: "team__community_id",
        Level.COMPOUND: "team__compounds__id",
    }


class AssignmentQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "shift__compound__district_id",
        Level.SUBDISTRICT: "shift__compound__subdistrict_id",
        Level.COMMUNITY: "shift__compound__community_id",
        Level.COMPOUND: "shift__compound_id",
    }


class Volunteer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="volunteer",
        verbose_name=_("account"),
    )
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, unique=True)
    is_party_member = models.BooleanField(_("party member"), default=False)
    is_veteran = models.BooleanField(_("veteran"), default=False)
    resident = models.ForeignKey(
        Resident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("also a resident"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = VolunteerQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["phone"])

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["community_id", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_phone(self) -> str:
        return cn.mask_phone(self.phone)


class Team(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=TeamKind.choices)
    leader = models.ForeignKey(
        Volunteer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("leader"),
    )
    compounds = models.ManyToManyField(
        Compound, related_name="+", blank=True, verbose_name=_("compounds served")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = TeamQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["community_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="team_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def posting_via(self) -> str:
        """What this team's postings are written as (compounds.Posting.via)."""
        return f"team:{self.pk}"


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        LEADER = "leader", _("Leader")
        DEPUTY = "deputy", _("Deputy leader")

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team")
    )
    volunteer = models.ForeignKey(
        Volunteer,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("volunteer"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "volunteer"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.team}"


class PartyBranch(models.Model):
    """A temporary party branch (临时党支部) set up in a sealed compound or community; an
    "online branch" coordinates through a chat group."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    compound = models.ForeignKey(
        Compound,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("compound"),
    )
    name = models.CharField(_("name"), max_length=80)
    secretary = models.ForeignKey(
        Volunteer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch secretary"),
    )
    members = models.ManyToManyField(
        Volunteer, related_name="branches", blank=True, verbose_name=_("members")
    )
    online = models.BooleanField(_("online branch"), default=False)
    chat_group = models.CharField(_("chat group"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("temporary party branch")
        verbose_name_plural = _("temporary party branches")
        ordering = ["community_id", "name"]

    def __str__(self) -> str:
        return self.name


class ShiftTemplate(models.Model):
    """A shift a compound runs every day: gate duty 08:00-12:00, deliveries 14:00-18:00."""

    compound = models.ForeignKey(
        Compound,
        on_delete=models.CASCADE,
        related_name="shift_templates",
        verbose_name=_("compound"),
    )
    name = models.CharField(_("name"), max_length=40)
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))
    needed = models.PositiveSmallIntegerField(_("people needed"), default=2)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("shift template")
        verbose_name_plural = _("shift templates")
        ordering = ["compound_id", "starts", "name"]
        constraints = [
            models.UniqueConstraint(fields=["compound", "name"], name="shifttemplate_unique"),
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")), name="shifttemplate_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.starts:%H:%M}-{self.ends:%H:%M}"


class Shift(models.Model):
    """One stretch of duty at a compound on one day."""

    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    template = models.ForeignKey(
        ShiftTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shifts",
        verbose_name=_("template"),
    )
    name = models.CharField(_("name"), max_length=40)
    date = models.DateField(_("date"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    needed = models.PositiveSmallIntegerField(_("people needed"), default=2)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["date", "starts_at", "compound_id", "name"]
        constraints = [
            # Applying a template to a week twice creates each shift once.
            models.UniqueConstraint(
                fields=["template", "date"],
                condition=models.Q(template__isnull=False),
                name="shift_unique_template_day",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_order"
            ),
        ]
        indexes = [models.Index(fields=["compound", "date"], name="shift_compound_date_idx")]

    def __str__(self) -> str:
        start, end = timezone.localtime(self.starts_at), timezone.localtime(self.ends_at)
        return f"{self.name} {self.date:%m-%d} {start:%H:%M}-{end:%H:%M}"

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class Assignment(models.Model):
    """A volunteer on a shift, and when they checked in and out."""

    shift = models.ForeignKey(
        Shift, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("shift")
    )
    volunteer = models.ForeignKey(
        Volunteer,
        on_delete=models.CASCADE,
        related_name="assignments",
        verbose_name=_("volunteer"),
    )
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        verbose_name=_("assigned by"),
    )
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("shift assignment")
        verbose_name_plural = _("shift assignments")
        constraints = [
            models.UniqueConstraint(fields=["shift", "volunteer"], name="assignment_unique")
        ]
        indexes = [models.Index(fields=["volunteer", "shift"], name="assignment_volunteer_idx")]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.shift}"

    @property
    def hours(self) -> float:
        """Hours worked: checked in to checked out (0 until both)."""
        if self.checked_in_at and self.checked_out_at:
            return (self.checked_out_at - self.checked_in_at).total_seconds() / 3600
        return 0.0


class LoginLink(models.Model):
    """A one-time link that logs a new volunteer in; it expires and works once. Only a hash
    of the token is kept."""

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.CASCADE, related_name="login_links", verbose_name=_("volunteer")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("login link")
        verbose_name_plural = _("login links")

    def __str__(self) -> str:
        return f"{self.volunteer} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


LOGIN_LINK_LIFETIME = datetime.timedelta(hours=72)


class OfflineTap(models.Model):
    """A tap made on a phone without signal (delivered, round done, check recorded, check-in),
    replayed when the network came back: its key, chosen by the phone when the tap was made,
    is kept here so that the same tap replayed twice (the phone retried, two tabs, a lost
    answer) is applied once. Written in the transaction of the tap's own write
    (volunteers.offline.ReplayMiddleware): a refused tap leaves no key and nothing else."""

    key = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", editable=False
    )
    path = models.CharField(max_length=200, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("offline tap")
        verbose_name_plural = _("offline taps")

    def __str__(self) -> str:
        return self.key
