"""Medical support of controlled compounds: designated hospitals, the medical worker and the
ambulances of each compound, escorts to hospital (one-off, recurring, emergencies).

An escort is one trip of one resident: requested → scheduled (an ambulance and an escort
given) → dispatched → at hospital → returned, or cancelled / admitted. Every step is
recorded with who and when (``steps``). A recurring schedule (dialysis Mon/Wed/Fri 07:30)
creates its escorts ahead of time by one job (services.escorts_book, run by Celery beat and by
``manage.py book_escorts``); a unique constraint on (schedule, date) makes every run after the
first create nothing.
"""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import ScopedQuerySet
from accounts.models import Level
from compounds.models import Compound, District, InCompoundQuerySet
from residents.models import Resident


class Service(models.TextChoices):
    DIALYSIS = "dialysis", _("Dialysis")
    EMERGENCY = "emergency", _("Emergency")
    MATERNITY = "maternity", _("Maternity")
    CHEMOTHERAPY = "chemotherapy", _("Chemotherapy")
    GENERAL = "general", _("General")


class EscortKind(models.TextChoices):
    DIALYSIS = "dialysis", _("Dialysis")
    CHEMOTHERAPY = "chemotherapy", _("Chemotherapy")
    PRENATAL = "prenatal", _("Prenatal check")
    EMERGENCY = "emergency", _("Emergency")
    OTHER = "other", _("Other")


# The service a hospital must offer to take an escort of each kind.
SERVICE_OF_KIND: dict[str, str] = {
    EscortKind.DIALYSIS: Service.DIALYSIS,
    EscortKind.CHEMOTHERAPY: Service.CHEMOTHERAPY,
    EscortKind.PRENATAL: Service.MATERNITY,
    EscortKind.EMERGENCY: Service.EMERGENCY,
    EscortKind.OTHER: Service.GENERAL,
}


class HospitalQuerySet(ScopedQuerySet):
    """A hospital is seen by whoever sees a district or a compound it is designated for."""

    scope_lookups = {
        Level.DISTRICT: ("districts__id", "compounds__district_id"),
        Level.SUBDISTRICT: ("districts__subdistricts__id", "compounds__subdistrict_id"),
        Level.COMMUNITY: ("districts__subdistricts__communities__id", "compounds__community_id"),
        Level.COMPOUND: ("districts__compounds__id", "compounds__id"),
    }


class Hospital(models.Model):
    """A hospital designated to take the patients of some districts or compounds."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    short_name = models.CharField(_("short name"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    services = models.JSONField(_("services"), default=list, blank=True)
    districts = models.ManyToManyField(
        District, blank=True, related_name="+", verbose_name=_("designated for districts")
    )
    compounds = models.ManyToManyField(
        Compound, blank=True, related_name="+", verbose_name=_("designated for compounds")
    )
    active = models.BooleanField(_("active"), default=True)

    objects = HospitalQuerySet.as_manager()

    class Meta:
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.short_name or self.name

    def offers(self, service: str) -> bool:
        return service in (self.services or [])


class StaffRole(models.TextChoices):
    DOCTOR = "doctor", _("Doctor")
    NURSE = "nurse", _("Nurse")


class MedicalStaff(models.Model):
    """A medical worker assigned to a compound (a user with the medic role, or a name)."""

    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    role = models.CharField(_("role"), max_length=10, choices=StaffRole.choices)
    active = models.BooleanField(_("active"), default=True)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("medical staff")
        verbose_name_plural = _("medical staff")
        ordering = ["compound_id", "name"]

    def __str__(self) -> str:
        return self.name


class AmbulanceStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    ON_JOB = "on_job", _("On a job")
    OUT_OF_SERVICE = "out_of_service", _("Out of service")


class Ambulance(models.Model):
    """An ambulance dedicated to a compound (its home); it may also serve others nearby."""

    plate = models.CharField(_("plate"), max_length=12, unique=True)
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("home compound")
    )
    also_serves = models.ManyToManyField(
        Compound, blank=True, related_name="+", verbose_name=_("also serves")
    )
    driver_name = models.CharField(_("driver"), max_length=50, blank=True)
    driver_phone = models.CharField(_("driver's phone"), max_length=30, blank=True)
    crew = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("crew accounts")
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AmbulanceStatus.choices,
        default=AmbulanceStatus.AVAILABLE,
    )

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("ambulance")
        verbose_name_plural = _("ambulances")
        ordering = ["compound_id", "plate"]

    def __str__(self) -> str:
        return self.plate


class EscortStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SCHEDULED = "scheduled", _("Scheduled")
    DISPATCHED = "dispatched", _("Dispatched")
    AT_HOSPITAL = "at_hospital", _("At hospital")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")
    ADMITTED = "admitted", _("Admitted")


OPEN_STATUSES = (
    EscortStatus.REQUESTED,
    EscortStatus.SCHEDULED,
    EscortStatus.DISPATCHED,
    EscortStatus.AT_HOSPITAL,
)
# A job that still holds its ambulance and escort (a clash is looked for among these).
BUSY_STATUSES = (EscortStatus.SCHEDULED, EscortStatus.DISPATCHED, EscortStatus.AT_HOSPITAL)


class ScheduleStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


WEEKDAY_NAMES = ("一", "二", "三", "四", "五", "六", "日")


class Schedule(models.Model):
    """A recurring treatment: which weekdays, at what time, to which hospital."""

    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="+", verbose_name=_("resident")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EscortKind.choices)
    # Monday 0 … Sunday 6, sorted; rules.clean_weekdays checks them.
    weekdays = models.JSONField(_("weekdays"), default=list)
    time = models.TimeField(_("pickup time"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("minutes until back"), default=240, help_text=_("Dialysis takes about four hours.")
    )
    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, related_name="+", verbose_name=_("hospital")
    )
    pickup = models.CharField(_("pickup"), max_length=60, blank=True)
    # Given: the job books each escort with them (scheduled); empty: requested, to be assigned.
    ambulance = models.ForeignKey(
        "Ambulance",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ambulance"),
    )
    staff = models.ForeignKey(
        MedicalStaff,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("escort staff"),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=ScheduleStatus.choices, default=ScheduleStatus.ACTIVE
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("escort schedule")
        verbose_name_plural = _("escort schedules")
        ordering = ["compound_id", "time", "id"]
        indexes = [models.Index(fields=["status", "start_date"], name="schedule_status_idx")]

    def __str__(self) -> str:
        return f"{self.resident} {self.weekdays_display} {self.time:%H:%M}"

    @property
    def weekdays_display(self) -> str:
        return "周" + "、".join(WEEKDAY_NAMES[d] for d in self.weekdays or [])

    def runs_on(self, day: datetime.date) -> bool:
        return (
            self.status == ScheduleStatus.ACTIVE
            and day.weekday() in (self.weekdays or [])
            and self.start_date <= day
            and (self.end_date is None or day <= self.end_date)
        )


class Escort(models.Model):
    """One trip of one resident to hospital and back."""

    # No single-column indexes on compound, ambulance, staff and schedule: the composite
    # indexes below start with each (every index costs the booking job's COPY its share).
    compound = models.ForeignKey(
        Compound,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        verbose_name=_("compound"),
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="+", verbose_name=_("resident")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EscortKind.choices)
    pickup = models.CharField(_("pickup"), max_length=60, blank=True)
    # Not indexed: hospitals are few and never deleted (only made inactive).
    hospital = models.ForeignKey(
        Hospital,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("hospital"),
    )
    scheduled_at = models.DateTimeField(_("pickup at"))
    expected_return_at = models.DateTimeField(_("expected back at"))
    ambulance = models.ForeignKey(
        Ambulance,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escorts",
        db_index=False,
        verbose_name=_("ambulance"),
    )
    staff = models.ForeignKey(
        MedicalStaff,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escorts",
        db_index=False,
        verbose_name=_("escort staff"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=EscortStatus.choices, default=EscortStatus.REQUESTED
    )
    # [{"status": "dispatched", "at": ISO time, "by": user id, "by_name": "…"}], oldest first.
    steps = models.JSONField(_("steps"), default=list, blank=True)
    symptom = models.CharField(_("symptom"), max_length=200, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    schedule = models.ForeignKey(
        Schedule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="escorts",
        db_index=False,
        verbose_name=_("schedule"),
    )
    # The day of the schedule this escort is for (the unique key of the booking job).
    schedule_date = models.DateField(_("schedule day"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Set once, by the claim that sends the pickup SMS (services.escorts_notify_due).
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("escort")
        verbose_name_plural = _("escorts")
        ordering = ["scheduled_at", "id"]
        constraints = [
            # The booking job runs daily, after downtime and by hand: each escort exists once.
            models.UniqueConstraint(
                fields=["schedule", "schedule_date"], name="escort_unique_schedule_day"
            ),
            models.CheckConstraint(
                condition=models.Q(expected_return_at__gt=models.F("scheduled_at")),
                name="escort_return_after_pickup",
            ),
        ]
        indexes = [
            models.Index(fields=["compound", "scheduled_at"], name="escort_compound_time_idx"),
            models.Index(fields=["scheduled_at", "kind"], name="escort_time_kind_idx"),
            models.Index(fields=["ambulance", "scheduled_at"], name="escort_ambulance_time_idx"),
            models.Index(fields=["staff", "scheduled_at"], name="escort_staff_time_idx"),
            # The live board: open emergencies.
            models.Index(
                fields=["compound", "scheduled_at"],
                condition=models.Q(
                    kind="emergency",
                    status__in=["requested", "scheduled", "dispatched", "at_hospital"],
                ),
                name="escort_open_emergency_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident} {timezone.localtime(self.scheduled_at):%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
