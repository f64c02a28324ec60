"""The place tree (district > sub-district > community > compound > building) and the
compound's control status.

A compound carries its community, sub-district and district ids (denormalised) so that the
jurisdiction filter and the per-area status counts are one indexed column, not a chain of joins.
Community.save() and Compound.save() keep them right.
"""

import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.access import ScopedQuerySet
from accounts.models import Level, User


class ControlStatus(models.TextChoices):
    NORMAL = "normal", _("Normal")
    PRECAUTIONARY = "precautionary", _("Precautionary area")
    CONTROLLED = "controlled", _("Controlled area")
    SEALED = "sealed", _("Sealed area")


# Higher is stricter. Used to tell an escalation from a step down.
SEVERITY: dict[str, int] = {
    ControlStatus.NORMAL: 0,
    ControlStatus.PRECAUTIONARY: 1,
    ControlStatus.CONTROLLED: 2,
    ControlStatus.SEALED: 3,
}


class DistrictQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "id",
        Level.SUBDISTRICT: "subdistricts__id",
        Level.COMMUNITY: "subdistricts__communities__id",
        Level.COMPOUND: "compounds__id",
    }


class SubdistrictQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "district_id",
        Level.SUBDISTRICT: "id",
        Level.COMMUNITY: "communities__id",
        Level.COMPOUND: "compounds__id",
    }


class CommunityQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "subdistrict__district_id",
        Level.SUBDISTRICT: "subdistrict_id",
        Level.COMMUNITY: "id",
        Level.COMPOUND: "compounds__id",
    }


class CompoundQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "district_id",
        Level.SUBDISTRICT: "subdistrict_id",
        Level.COMMUNITY: "community_id",
        Level.COMPOUND: "id",
    }


class InCompoundQuerySet(ScopedQuerySet):
    """Rows with a `compound` foreign key, seen by whoever sees that compound: buildings here,
    and the apps above for what belongs to one compound (shifts, sanitation areas and rounds)."""

    scope_lookups = {
        Level.DISTRICT: "compound__district_id",
        Level.SUBDISTRICT: "compound__subdistrict_id",
        Level.COMMUNITY: "compound__community_id",
        Level.COMPOUND: "compound_id",
    }


class BuildingQuerySet(InCompoundQuerySet):
    pass


class StatusChangeQuerySet(BuildingQuerySet):
    """Same path as buildings: through the compound."""


class PositiveCaseQuerySet(BuildingQuerySet):
    """Same path as buildings: through the compound."""


class PostingQuerySet(ScopedQuerySet):
    """A posting is seen by whoever sees the place it posts to."""

    scope_lookups = {
        Level.DISTRICT: (
            "district_id",
            "subdistrict__district_id",
            "community__subdistrict__district_id",
            "compound__district_id",
        ),
        Level.SUBDISTRICT: (
            "subdistrict_id",
            "community__subdistrict_id",
            "compound__subdistrict_id",
        ),
        Level.COMMUNITY: ("community_id", "compound__community_id"),
        Level.COMPOUND: "compound_id",
    }


class District(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)

    objects = DistrictQuerySet.as_manager()

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Subdistrict(models.Model):
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="subdistricts", verbose_name=_("district")
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)

    objects = SubdistrictQuerySet.as_manager()

    class Meta:
        verbose_name = _("sub-district")
        verbose_name_plural = _("sub-districts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        # Keep the compounds' denormalised district in step if this sub-district moved.
        Compound.objects.filter(subdistrict_id=self.pk).exclude(
            district_id=self.district_id
        ).update(district_id=self.district_id)


class Community(models.Model):
    subdistrict = models.ForeignKey(
        Subdistrict,
        on_delete=models.PROTECT,
        related_name="communities",
        verbose_name=_("sub-district"),
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        district_id = Subdistrict.objects.values_list("district_id", flat=True).get(
            pk=self.subdistrict_id
        )
        Compound.objects.filter(community_id=self.pk).exclude(
            subdistrict_id=self.subdistrict_id, district_id=district_id
        ).update(subdistrict_id=self.subdistrict_id, district_id=district_id)


class Compound(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="compounds", verbose_name=_("community")
    )
    # Denormalised from community, kept by save(); never edited by hand.
    subdistrict = models.ForeignKey(
        Subdistrict,
        on_delete=models.PROTECT,
        related_name="compounds",
        editable=False,
        verbose_name=_("sub-district"),
    )
    district = models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        related_name="compounds",
        editable=False,
        verbose_name=_("district"),
    )
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    status = models.CharField(
        _("control status"),
        max_length=20,
        choices=ControlStatus.choices,
        default=ControlStatus.NORMAL,
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    last_positive_on = models.DateField(_("last positive case on"), null=True, blank=True)
    # When the compound was registered here (empty for those registered before this existed):
    # no positive case can be recorded before it.
    created_at = models.DateTimeField(
        _("registered at"), null=True, blank=True, default=timezone.now, editable=False
    )

    objects = CompoundQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["subdistrict", "district"])

    # Set before save() or delete(); django-simple-history records them on the history row.
    _history_user: User | None
    _change_reason: str

    class Meta:
        verbose_name = _("compound")
        verbose_name_plural = _("compounds")
        ordering = ["community_id", "name"]
        indexes = [
            models.Index(fields=["district", "status"], name="compound_district_status_idx"),
            models.Index(fields=["subdistrict", "status"], name="compound_subdist_status_idx"),
            models.Index(fields=["community", "status"], name="compound_community_status_idx"),
            models.Index(fields=["name"], name="compound_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.community_id is not None:
            self.subdistrict_id, self.district_id = Community.objects.values_list(
                "subdistrict_id", "subdistrict__district_id"
            ).get(pk=self.community_id)
        super().save(*args, **kwargs)

    @property
    def days_since_positive(self) -> int | None:
        """Whole days since the last positive case, in Asia/Shanghai; None if there was none."""
        if self.last_positive_on is None:
            return None
        return (timezone.localdate() - self.last_positive_on).days

    @property
    def clock(self) -> "LockdownClock":
        """The lockdown clock: day N of the seal, days without a case, the first day it may
        step down (Asia/Shanghai days)."""
        return LockdownClock.of(self)

    def quiet_enough_to_step_down(self, today: datetime.date | None = None) -> bool:
        if self.last_positive_on is None:
            return True
        today = today or timezone.localdate()
        return (today - self.last_positive_on).days >= settings.WUYI_DOWNGRADE_QUIET_DAYS


# The statuses a compound is locked down in: they count days and step down only after a quiet
# period (compounds.services.step_down_date).
LOCKED_DOWN = (ControlStatus.SEALED, ControlStatus.CONTROLLED)


@dataclass(frozen=True)
class LockdownClock:
    """What a committee counts while a compound is sealed or controlled, in Asia/Shanghai days:
    which day of the current status it is (day 1 the day it began), the days since the last
    positive case, and the first day it may step down (None: no case recorded, any day)."""

    locked_down: bool
    day: int | None
    days_without_case: int | None
    step_down_on: datetime.date | None
    today: datetime.date

    @classmethod
    def of(cls, compound: "Compound", today: datetime.date | None = None) -> "LockdownClock":
        today = today or timezone.localdate()
        locked = compound.status in LOCKED_DOWN
        day = None
        if locked and compound.status_changed_at is not None:
            day = (today - timezone.localdate(compound.status_changed_at)).days + 1
        step_down_on = None
        if compound.last_positive_on is not None:
            step_down_on = compound.last_positive_on + datetime.timedelta(
                days=settings.WUYI_DOWNGRADE_QUIET_DAYS
            )
        return cls(
            locked_down=locked,
            day=day,
            days_without_case=(
                (today - compound.last_positive_on).days if compound.last_positive_on else None
            ),
            step_down_on=step_down_on,
            today=today,
        )

    @property
    def may_step_down(self) -> bool:
        return self.step_down_on is None or self.step_down_on <= self.today

    @property
    def days_to_step_down(self) -> int:
        return max(0, (self.step_down_on - self.today).days) if self.step_down_on else 0


class Building(models.Model):
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="buildings", verbose_name=_("compound")
    )
    number = models.CharField(_("building number"), max_length=20)
    name = models.CharField(_("name"), max_length=50, blank=True)
    unit_count = models.PositiveSmallIntegerField(_("units"), default=1)
    floor_count = models.PositiveSmallIntegerField(_("floors"), default=6)

    objects = BuildingQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["compound_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["compound", "number"], name="building_unique_number")
        ]

    def __str__(self) -> str:
        return self.name or self.label

    @property
    def label(self) -> str:
        return building_label(self.number)


# A building number that carries its own word: "A座", "3栋", "5#".
_BUILDING_WORD = re.compile(r"(号楼|楼|栋|幢|座|#)$")


def building_label(number: str) -> str:
    """The one way a building is written on pages, lists, area names and texts: "3" -> "3号楼",
    "A" -> "A号楼"; a number that carries its own word ("A座", "3栋") as it is."""
    number = str(number).strip()
    return number if _BUILDING_WORD.search(number) else f"{number}号楼"


def unit_label(building: str, unit: str) -> str:
    """A staircase as committees write it: "3号楼2单元" ("3号楼" without a unit)."""
    return building_label(building) + (f"{unit}单元" if unit else "")


def address_label(building: str, unit: str, room: str) -> str:
    """A door as committees write it: "3号楼2单元501" ("3号楼501" without a unit)."""
    return unit_label(building, unit) + room


class StatusChange(models.Model):
    """One row per control-status change: who moved the compound, from what, to what, and why."""

    compound = models.ForeignKey(
        Compound,
        on_delete=models.CASCADE,
        related_name="status_changes",
        verbose_name=_("compound"),
    )
    from_status = models.CharField(
        _("previous status"), max_length=20, choices=ControlStatus.choices
    )
    to_status = models.CharField(_("new status"), max_length=20, choices=ControlStatus.choices)
    reason = models.TextField(_("reason"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["compound", "-changed_at"], name="statuschange_compound_idx")
        ]

    def __str__(self) -> str:
        return f"{self.compound}: {self.get_from_status_display()} → {self.get_to_status_display()}"


class PositiveCase(models.Model):
    """A new positive case found in a compound: it restarts the days without a case."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Reported on the status page")
        SCREENING = "screening", _("A positive test result")

    compound = models.ForeignKey(
        Compound,
        on_delete=models.CASCADE,
        related_name="positive_cases",
        verbose_name=_("compound"),
    )
    building = models.ForeignKey(
        Building,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("building"),
    )
    found_on = models.DateField(_("found on"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.MANUAL
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = PositiveCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("positive case")
        verbose_name_plural = _("positive cases")
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["compound", "-found_on"], name="positivecase_compound_idx")]

    def __str__(self) -> str:
        return f"{self.compound} {self.found_on:%Y-%m-%d}"


class Posting(models.Model):
    """A user posted to one place of the tree: they see what lies under it.

    A user's jurisdiction is the union of their postings (accounts.access reads them). Exactly
    one of the four places is set. `via` says what wrote the posting: empty for a posting made
    by hand, "team:12" for one the volunteers app writes when it assigns a team, so that
    removing someone from one team leaves the postings their other teams give them.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="postings",
        verbose_name=_("user"),
    )
    district = models.ForeignKey(
        District,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("district"),
    )
    subdistrict = models.ForeignKey(
        Subdistrict,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sub-district"),
    )
    community = models.ForeignKey(
        Community,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("community"),
    )
    compound = models.ForeignKey(
        Compound,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("compound"),
    )
    via = models.CharField(_("posted by"), max_length=40, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = PostingQuerySet.as_manager()

    PLACE_FIELDS = ("district", "subdistrict", "community", "compound")
    PLACE_ID_FIELDS = ("district_id", "subdistrict_id", "community_id", "compound_id")

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        ordering = ["user_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        district__isnull=False,
                        subdistrict__isnull=True,
                        community__isnull=True,
                        compound__isnull=True,
                    )
                    | models.Q(
                        district__isnull=True,
                        subdistrict__isnull=False,
                        community__isnull=True,
                        compound__isnull=True,
                    )
                    | models.Q(
                        district__isnull=True,
                        subdistrict__isnull=True,
                        community__isnull=False,
                        compound__isnull=True,
                    )
                    | models.Q(
                        district__isnull=True,
                        subdistrict__isnull=True,
                        community__isnull=True,
                        compound__isnull=False,
                    )
                ),
                name="posting_one_place",
            ),
            *(
                models.UniqueConstraint(
                    fields=["user", level, "via"],
                    condition=models.Q(**{f"{level}__isnull": False}),
                    name=f"posting_unique_{level}",
                )
                for level in ("district", "subdistrict", "community", "compound")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.place}"

    @property
    def level(self) -> Level | None:
        for level in self.PLACE_FIELDS:
            if getattr(self, f"{level}_id") is not None:
                return Level(level)
        return None

    @property
    def place_id(self) -> int | None:
        level = self.level
        return getattr(self, f"{level}_id") if level else None

    @property
    def place(self) -> models.Model | None:
        level = self.level
        return getattr(self, level) if level else None
