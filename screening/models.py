"""Testing rounds, tubes and the people in them, results, retests, temporary control, cases,
close contacts and their quarantine, daily health reports.

A round belongs to a district (optionally some of its sub-districts); everything else belongs
to one compound, so visibility is the compound's (InCompoundQuerySet) and a secretary sees her
compounds' tubes, a volunteer the compounds their team serves.
"""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import ScopedQuerySet
from accounts.models import Level
from compounds.models import (
    Building,
    Compound,
    District,
    InCompoundQuerySet,
    PositiveCase,
    Subdistrict,
)
from residents.models import Household, Resident


class RoundStatus(models.TextChoices):
    OPEN = "open", _("In progress")
    CLOSED = "closed", _("Finished")


class RoundQuerySet(ScopedQuerySet):
    """A district's round is seen by everyone under that district."""

    scope_lookups = {
        Level.DISTRICT: "district_id",
        Level.SUBDISTRICT: "district__subdistricts__id",
        Level.COMMUNITY: "district__subdistricts__communities__id",
        Level.COMPOUND: "district__compounds__id",
    }


class ResultImportQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "round__district_id",
        Level.SUBDISTRICT: "round__district__subdistricts__id",
        Level.COMMUNITY: "round__district__subdistricts__communities__id",
        Level.COMPOUND: "round__district__compounds__id",
    }


class TestingRound(models.Model):
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    # Empty: the whole district.
    subdistricts = models.ManyToManyField(
        Subdistrict, blank=True, related_name="+", verbose_name=_("sub-districts")
    )
    number = models.PositiveIntegerField(_("round"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    status = models.CharField(
        _("status"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("testing round")
        verbose_name_plural = _("testing rounds")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["district", "number"], name="round_district_number"),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="round_dates_order"
            ),
        ]

    def __str__(self) -> str:
        return _("Round %(number)d") % {"number": self.number}


class TubeKind(models.TextChoices):
    POOL10 = "pool10", _("10 to a tube")
    POOL20 = "pool20", _("20 to a tube")
    SINGLE = "single", _("Single tube")


CAPACITY = {TubeKind.POOL10: 10, TubeKind.POOL20: 20, TubeKind.SINGLE: 1}


class TubeStatus(models.TextChoices):
    OPEN = "open", _("Filling")
    CLOSED = "closed", _("Closed")
    RESULTED = "resulted", _("Result in")


class Result(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    REVIEW = "review", _("To be reviewed")


class Tube(models.Model):
    round = models.ForeignKey(
        TestingRound, on_delete=models.PROTECT, related_name="tubes", verbose_name=_("round")
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="+", verbose_name=_("compound")
    )
    barcode = models.CharField(_("tube barcode"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=TubeKind.choices)
    # A single tube taken because this person's pool was positive (单管复核).
    retest = models.BooleanField(_("retest"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=TubeStatus.choices, default=TubeStatus.OPEN
    )
    size = models.PositiveSmallIntegerField(_("people"), default=0)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices, blank=True)
    resulted_at = models.DateTimeField(_("result at"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    opened_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("tube")
        verbose_name_plural = _("tubes")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "barcode"], name="tube_round_barcode"),
            models.CheckConstraint(condition=models.Q(size__lte=20), name="tube_size_max"),
        ]

    def __str__(self) -> str:
        return self.barcode

    @property
    def capacity(self) -> int:
        return CAPACITY[TubeKind(self.kind)]

    @property
    def full(self) -> bool:
        return self.size >= self.capacity


class Sample(models.Model):
    """One person in one tube. `key` is the scan's idempotency key: a scan sent twice over a
    poor network is written once."""

    tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="samples")
    round = models.ForeignKey(TestingRound, on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    retest = models.BooleanField(default=False)
    key = models.CharField(max_length=64, unique=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    taken_at = models.DateTimeField(default=timezone.now)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("sample")
        verbose_name_plural = _("samples")
        ordering = ["taken_at", "id"]
        constraints = [
            # One pooled (or first single) sample per person per round, and one retest.
            models.UniqueConstraint(
                fields=["round", "resident", "retest"], name="sample_once_per_round"
            ),
        ]
        indexes = [models.Index(fields=["round", "compound"], name="sample_round_compound")]

    def __str__(self) -> str:
        return f"{self.tube_id}:{self.resident_id}"


class RetestStatus(models.TextChoices):
    PENDING = "pending", _("To be sampled")
    SAMPLED = "sampled", _("Sampled")
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")


class Retest(models.Model):
    """A single-tube retest (单管复核) owed by one person of a positive pool, door to door."""

    round = models.ForeignKey(TestingRound, on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    pool = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="retests")
    status = models.CharField(
        _("status"), max_length=10, choices=RetestStatus.choices, default=RetestStatus.PENDING
    )
    tube = models.ForeignKey(
        Tube, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("single-tube retest")
        verbose_name_plural = _("single-tube retests")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "resident"], name="retest_once_per_round")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.resident_id}"


class TemporaryControl(models.Model):
    """A household under temporary control (临时管控) while its pool is positive; lifted when
    every retest of the household is negative."""

    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    pool = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("temporary control")
        verbose_name_plural = _("temporary controls")
        constraints = [
            models.UniqueConstraint(fields=["household", "pool"], name="control_once_per_pool")
        ]

    def __str__(self) -> str:
        return f"{self.household_id}"


class ExemptReason(models.TextChoices):
    INFANT = "infant", _("Infant")
    AWAY = "away", _("Out of town")
    HOSPITAL = "hospital", _("In hospital")
    CASE = "case", _("Already a case")


class Exemption(models.Model):
    round = models.ForeignKey(TestingRound, on_delete=models.CASCADE, related_name="+")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=10, choices=ExemptReason.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("exemption")
        verbose_name_plural = _("exemptions")
        constraints = [
            models.UniqueConstraint(fields=["round", "resident"], name="exempt_once_per_round")
        ]

    def __str__(self) -> str:
        return self.get_reason_display()


class ResultImport(models.Model):
    """One committed result sheet: what it matched. A sheet whose rows all agree with what is
    already recorded is still logged but changes nothing."""

    round = models.ForeignKey(TestingRound, on_delete=models.PROTECT, related_name="imports")
    file_name = models.CharField(max_length=200)
    rows = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    positive_pools = models.PositiveIntegerField(default=0)
    cases = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = ResultImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("result import")
        verbose_name_plural = _("result imports")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.file_name


class PersonKind(models.TextChoices):
    CASE = "case", _("Case")
    CLOSE = "close", _("Close contact")
    SECONDARY = "secondary", _("Secondary close contact")
    # Kept at home without being anyone's contact (the register's old "home isolation").
    ISOLATION = "isolation", _("Home isolation")


class Place(models.TextChoices):
    HOME = "home", _("Home quarantine")
    CENTRAL = "central", _("Central facility")
    HOSPITAL = "hospital", _("Designated hospital")


class QuarantineQuerySet(InCompoundQuerySet):
    def active(self, day: datetime.date | None = None) -> "QuarantineQuerySet":
        """Not released, and started on or before `day` (today unless given)."""
        day = day or timezone.localdate()
        return self.filter(released_at__isnull=True, starts_on__lte=day)


class Quarantine(models.Model):
    """A case, a close contact or a secondary close contact: what they are (kind), where they
    are kept (place), the case they came from, and their quarantine's span."""

    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="+", verbose_name=_("compound")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="+", verbose_name=_("resident")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PersonKind.choices)
    source = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("linked to"),
    )
    place = models.CharField(_("kept at"), max_length=10, choices=Place.choices)
    starts_on = models.DateField(_("quarantine from"))
    ends_on = models.DateField(_("planned end"))
    positive_case = models.ForeignKey(
        PositiveCase, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tube = models.ForeignKey(
        Tube, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = QuarantineQuerySet.as_manager()

    class Meta:
        verbose_name = _("case or contact")
        verbose_name_plural = _("cases and contacts")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open record per person: a contact who becomes a case is released first.
            models.UniqueConstraint(
                fields=["resident"],
                condition=models.Q(released_at__isnull=True),
                name="quarantine_one_open",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="quarantine_dates_order",
            ),
        ]
        indexes = [models.Index(fields=["compound", "released_at"], name="quarantine_open")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.resident_id}"

    @property
    def released(self) -> bool:
        return self.released_at is not None

    def test_days(self) -> list[datetime.date]:
        """The days a test is due (settings.WUYI_QUARANTINE_TEST_DAYS after the start)."""
        offsets = getattr(settings, "WUYI_QUARANTINE_TEST_DAYS", (1, 4, 7, 14))
        return [
            self.starts_on + datetime.timedelta(days=n)
            for n in offsets
            if self.starts_on + datetime.timedelta(days=n) <= self.ends_on
        ]


class HealthReport(models.Model):
    """A daily health report (健康打卡): one a day per person in quarantine."""

    quarantine = models.ForeignKey(Quarantine, on_delete=models.CASCADE, related_name="reports")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    temperature = models.DecimalField(_("temperature"), max_digits=3, decimal_places=1)
    symptoms = models.CharField(_("symptoms"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("health report")
        verbose_name_plural = _("health reports")
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["quarantine", "day"], name="report_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.temperature}"


class SamplingSlot(models.Model):
    """A sampling point (采样点) and its time slot in one compound for one round: the
    residents of the buildings named (none named: every building) come down to it then."""

    round = models.ForeignKey(
        TestingRound, on_delete=models.CASCADE, related_name="slots", verbose_name=_("round")
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="+", verbose_name=_("compound")
    )
    place = models.CharField(_("sampling point"), max_length=60)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    buildings = models.ManyToManyField(
        Building, blank=True, related_name="+", verbose_name=_("buildings")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("sampling point and time slot")
        verbose_name_plural = _("sampling points and time slots")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="slot_times_order"
            ),
        ]
        indexes = [models.Index(fields=["round", "compound"], name="slot_round_compound")]

    def __str__(self) -> str:
        return f"{self.place} {self.times}"

    @property
    def times(self) -> str:
        """12-03 08:00–10:00 in Asia/Shanghai; the end's date too when it falls on another day."""
        start = timezone.localtime(self.starts_at)
        end = timezone.localtime(self.ends_at)
        until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%m-%d %H:%M}"
        return f"{start:%m-%d %H:%M}–{until}"
