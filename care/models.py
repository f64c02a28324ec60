"""Daily welfare checks of vulnerable residents (走访 / 电话问候), the community's care plan
(which ledger categories get a check, how often), and the needs a check brings up.

One job (services.checks_generate, run by Celery beat and by `manage.py
generate_welfare_checks`) gives every resident whose ledger category calls for it a check on
the day it is due, assigned to a volunteer of the resident's compound in turn. A unique
constraint on (resident, date) makes every run after the first, and a second copy running at
the same time, create nothing: the insert is ON CONFLICT DO NOTHING (bulk_create with
ignore_conflicts elsewhere), so two jobs never raise on each other's rows.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import ScopedQuerySet
from accounts.models import Level
from compounds.models import Community, Compound, InCompoundQuerySet
from residents.models import Category, Household, Resident
from volunteers.models import Volunteer


class Outcome(models.TextChoices):
    OPEN = "open", _("To do")
    PHONE = "phone", _("Reached by phone")
    VISITED = "visited", _("Visited")
    NOT_REACHED = "not_reached", _("Not reached")


class Mood(models.TextChoices):
    GOOD = "good", _("Good")
    OK = "ok", _("All right")
    LOW = "low", _("Low")
    DISTRESSED = "distressed", _("Distressed")


class NeedKind(models.TextChoices):
    SUPPLIES = "supplies", _("Supplies")
    ESCORT = "escort", _("Escort to hospital")
    NOTE = "note", _("Note to the secretary")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("Open")
    HANDLED = "handled", _("Handled")


class CommunityQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
    }


class CarePlan(models.Model):
    """A community's rule: residents of a ledger category get a welfare check every N days.
    A community without any plan gets settings.WUYI_CARE_DEFAULT (the elderly living alone,
    daily)."""

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", verbose_name=_("community")
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    every_days = models.PositiveSmallIntegerField(
        _("every (days)"), default=1, help_text=_("1: daily; 2: every other day; 7: weekly.")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("care plan")
        verbose_name_plural = _("care plans")
        ordering = ["community_id", "category"]
        constraints = [
            models.UniqueConstraint(fields=["community", "category"], name="careplan_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} / {self.every_days}"


class WelfareCheck(models.Model):
    """One resident's check on one day, by the volunteer it was given to."""

    resident = models.ForeignKey(
        Resident,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("resident"),
        db_index=False,  # the unique (resident, date) leads with it
        # No database constraint: its deferred check locks each of 200,000 residents at the
        # COMMIT of the daily job (23 s of the bench). Residents are never deleted but by
        # Django (leaving the register sets left_on), whose CASCADE removes their checks.
        db_constraint=False,
    )
    # The resident's compound and household, kept on the check: scoping and the today list
    # read one table.
    compound = models.ForeignKey(
        Compound,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("compound"),
        db_index=False,  # welfarecheck_compound_day leads with it
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("household"),
        db_index=False,  # read with the volunteer's day (welfarecheck_volunteer_day)
        db_constraint=False,  # the resident's household, as for `resident`
    )
    date = models.DateField(_("date"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    volunteer = models.ForeignKey(
        Volunteer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("volunteer"),
        db_index=False,  # welfarecheck_volunteer_day leads with it
    )
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.OPEN
    )
    mood = models.CharField(_("mood"), max_length=12, choices=Mood.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    done_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    alerted = models.BooleanField(_("secretary alerted"), default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("welfare check")
        verbose_name_plural = _("welfare checks")
        ordering = ["date", "compound_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "date"], name="welfarecheck_unique")
        ]
        indexes = [
            models.Index(fields=["volunteer", "date"], name="welfarecheck_volunteer_day"),
            models.Index(fields=["compound", "date"], name="welfarecheck_compound_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_outcome_display()}"

    @property
    def done(self) -> bool:
        return is_done(self.outcome)


def is_done(outcome: str) -> bool:
    """A check is done once it has an outcome: reached by phone, visited or not reached."""
    return outcome != Outcome.OPEN


class Need(models.Model):
    """What a resident asked for during a check: supplies, an escort, or a word to the
    secretary. The secretary turns it into an order or an escort, or notes it handled."""

    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="+", verbose_name=_("resident")
    )
    welfare_check = models.ForeignKey(
        WelfareCheck,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("welfare check"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=NeedKind.choices)
    text = models.CharField(_("what is needed"), max_length=500)
    status = models.CharField(
        _("status"), max_length=10, choices=NeedStatus.choices, default=NeedStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    # What the need became in one tap (services.need_turn): "代购单 #12", "就医陪护申请 #3".
    made = models.CharField(_("made into"), max_length=100, blank=True)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["status", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:20]}"
