"""Disinfection of a controlled compound: the areas cleaned, each day's rounds (who cleans
which area when, and when it was done) and the medical-waste log.

An area (a building's lift, a stairwell, the gate, a medical-waste bin) is cleaned several
times a day at set times. Each day's rounds are generated from the areas by one job
(services.rosters_generate, run by Celery beat and by `manage.py generate_rosters`); a unique
constraint on (area, due_at) makes every run after the first create nothing. A round is done
when the cleaner scans the code next to the area and taps "done": the code carries a token
signed for the area and its `qr_key` (rules.qr_token), which the secretary replaces when a
sheet must stop working; without the code only the secretary marks a round done, with a
reason. Done outside its window it is recorded as early or late, never refused; a round of
another day is refused. A round not done by the end of its window is reminded once to its
cleaner and, later, once to the community secretary.
"""

import datetime
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compounds.models import Building, Compound, InCompoundQuerySet
from volunteers.models import Team, Volunteer


class AreaKind(models.TextChoices):
    LIFT = "lift", _("Lift")
    STAIRWELL = "stairwell", _("Stairwell")
    LOBBY = "lobby", _("Lobby")
    GATE = "gate", _("Gate")
    GARBAGE = "garbage", _("Garbage point")
    MEDICAL_WASTE = "medical_waste", _("Medical-waste bin")
    TOILET = "toilet", _("Public toilet")
    OTHER = "other", _("Other")


class Method(models.TextChoices):
    SPRAY = "spray", _("Spray")
    WIPE = "wipe", _("Wipe")
    VENTILATION = "ventilation", _("Ventilation")


class Timing(models.TextChoices):
    ON_TIME = "on_time", _("On time")
    EARLY = "early", _("Early")
    LATE = "late", _("Late")


class CheckIn(models.TextChoices):
    """How a round was marked done."""

    QR = "qr", _("Scanned the area's code")
    OVERRIDE = "override", _("By the secretary, without the code")


def new_qr_key() -> str:
    """A fresh secret for an area's printed code (12 URL-safe characters, 72 bits)."""
    return secrets.token_urlsafe(9)


class Area(models.Model):
    """A place in a compound that is disinfected on a schedule."""

    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    building = models.ForeignKey(
        Building,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("building"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AreaKind.choices)
    name = models.CharField(_("name"), max_length=60)
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    # The times of day its rounds start, "HH:MM", sorted; rules.clean_times checks them.
    times = models.JSONField(_("round times"), default=list)
    window_minutes = models.PositiveSmallIntegerField(
        _("minutes to do a round"),
        default=60,
        help_text=_("A round not done this long after it starts is overdue."),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
        help_text=_("Whose members take its rounds in turn; empty: the compound's cleaners."),
    )
    active = models.BooleanField(_("active"), default=True)
    # Signed into the area's QR code with its id (rules.qr_token): a new key voids the
    # printed sheet (services.area_qr_rotate).
    qr_key = models.CharField(max_length=16, default=new_qr_key, editable=False)
    qr_rotated_at = models.DateTimeField(_("code replaced at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("sanitation area")
        verbose_name_plural = _("sanitation areas")
        ordering = ["compound_id", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="area_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def rounds_per_day(self) -> int:
        return len(self.times)


class Round(models.Model):
    """One disinfection of one area at one time of one day."""

    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="rounds", verbose_name=_("area")
    )
    # The area's compound, kept on the round: scoping and the day's figures read one table.
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    date = models.DateField(_("date"))
    due_at = models.DateTimeField(_("starts at"))
    window_ends_at = models.DateTimeField(_("overdue at"))
    assignee = models.ForeignKey(
        Volunteer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cleaner"),
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    timing = models.CharField(_("timing"), max_length=10, choices=Timing.choices, blank=True)
    check_in = models.CharField(_("checked in"), max_length=10, choices=CheckIn.choices, blank=True)
    override_reason = models.CharField(_("why without the code"), max_length=200, blank=True)
    photo = models.FileField(_("photo"), upload_to="sanitation/%Y/%m/%d/", blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # Set once each: the claim that sends the reminder (services.rounds_remind_overdue).
    reminded_at = models.DateTimeField(_("cleaner reminded at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("secretary reminded at"), null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("sanitation round")
        verbose_name_plural = _("sanitation rounds")
        ordering = ["due_at", "area_id"]
        constraints = [
            # The roster job runs daily, after downtime and by hand: each round exists once.
            models.UniqueConstraint(fields=["area", "due_at"], name="round_unique_area_time"),
            models.CheckConstraint(
                condition=models.Q(window_ends_at__gt=models.F("due_at")), name="round_window"
            ),
        ]
        indexes = [
            models.Index(fields=["compound", "date"], name="round_compound_date_idx"),
            models.Index(fields=["date", "compound"], name="round_date_compound_idx"),
            models.Index(fields=["assignee", "date"], name="round_assignee_date_idx"),
            # What the overdue sweep looks for: open rounds past their window, not yet reminded.
            models.Index(
                fields=["window_ends_at"],
                condition=models.Q(done_at__isnull=True, escalated_at__isnull=True),
                name="round_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area} {timezone.localtime(self.due_at):%m-%d %H:%M}"

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def overdue(self, now: datetime.datetime | None = None) -> bool:
        return self.done_at is None and (now or timezone.now()) >= self.window_ends_at


class WasteRecord(models.Model):
    """A medical-waste bin's day (日产日清): bags collected, handed to whom, cleared."""

    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="waste_records", verbose_name=_("bin")
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    date = models.DateField(_("date"))
    bags = models.PositiveSmallIntegerField(_("bags"), default=0)
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("collected by"),
    )
    handed_to = models.CharField(_("handed to"), max_length=60, blank=True)
    handed_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    cleared = models.BooleanField(_("cleared"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("medical-waste record")
        verbose_name_plural = _("medical-waste records")
        ordering = ["-date", "compound_id", "area_id"]
        constraints = [
            models.UniqueConstraint(fields=["area", "date"], name="waste_unique_bin_day"),
            # Cleared means handed over: to someone, at a time.
            models.CheckConstraint(
                condition=models.Q(cleared=False)
                | (models.Q(handed_at__isnull=False) & ~models.Q(handed_to="")),
                name="waste_cleared_handed",
            ),
        ]
        indexes = [models.Index(fields=["date", "compound"], name="waste_date_compound_idx")]

    def __str__(self) -> str:
        return f"{self.area} {self.date:%m-%d}"
