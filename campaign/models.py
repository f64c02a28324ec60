"""The epidemic-free compound campaign (无疫小区创建): the district's checklist, each compound's
assessment, certificates and publicity records.

A district has one checklist: groups worded as the district words them, each with items that a
person checks (with evidence when the item says so) or the app measures. An item that was
checked is never edited in place: editing it retires it and makes a new one, so an assessment
keeps the item (and the wording) it was made against.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import ScopedQuerySet
from accounts.models import Level
from compounds.models import Community, Compound, District, InCompoundQuerySet

NO_CASE_DAYS_DEFAULT = 14
ROUNDS_DEFAULT = 3  # the last K testing rounds...
COVERAGE_DEFAULT = 95  # ...each covered at or above this percent


class InDistrictQuerySet(ScopedQuerySet):
    """Rows of a district (its checklist, its texts): seen by everyone posted under it."""

    scope_lookups = {
        Level.DISTRICT: "district_id",
        Level.SUBDISTRICT: "district__subdistricts__id",
        Level.COMMUNITY: "district__subdistricts__communities__id",
        Level.COMPOUND: "district__compounds__id",
    }


class Checklist(models.Model):
    district = models.OneToOneField(
        District, on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    no_case_days = models.PositiveSmallIntegerField(
        _("days without a positive case"), default=NO_CASE_DAYS_DEFAULT
    )
    rounds = models.PositiveSmallIntegerField(_("testing rounds looked at"), default=ROUNDS_DEFAULT)
    coverage = models.PositiveSmallIntegerField(
        _("coverage each round (percent)"), default=COVERAGE_DEFAULT
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = InDistrictQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign checklist")
        verbose_name_plural = _("campaign checklists")

    def __str__(self) -> str:
        return str(_("Checklist of %(district)s") % {"district": self.district})


class GroupQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "checklist__district_id",
        Level.SUBDISTRICT: "checklist__district__subdistricts__id",
        Level.COMMUNITY: "checklist__district__subdistricts__communities__id",
        Level.COMPOUND: "checklist__district__compounds__id",
    }


class ChecklistGroup(models.Model):
    checklist = models.ForeignKey(
        Checklist, on_delete=models.CASCADE, related_name="groups", verbose_name=_("checklist")
    )
    title = models.CharField(_("title"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    objects = GroupQuerySet.as_manager()

    class Meta:
        verbose_name = _("checklist group")
        verbose_name_plural = _("checklist groups")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class ItemKind(models.TextChoices):
    MANUAL = "manual", _("Checked by a person")
    NO_CASE = "no_case", _("No positive case for N days")
    ROUNDS = "rounds", _("The last K testing rounds each covered")
    DISINFECTION = "disinfection", _("Today's disinfection rounds done")
    WASTE = "waste", _("Medical waste cleared daily")
    MEDICAL = "medical", _("One medical worker and two ambulances")
    SUPPLIES = "supplies", _("Supply orders waiting under 24 hours")
    VULNERABLE = "vulnerable", _("Every vulnerable resident contacted today")


class ItemQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "group__checklist__district_id",
        Level.SUBDISTRICT: "group__checklist__district__subdistricts__id",
        Level.COMMUNITY: "group__checklist__district__subdistricts__communities__id",
        Level.COMPOUND: "group__checklist__district__compounds__id",
    }

    def current(self):
        return self.filter(retired_at__isnull=True)


class ChecklistItem(models.Model):
    group = models.ForeignKey(
        ChecklistGroup, on_delete=models.CASCADE, related_name="items", verbose_name=_("group")
    )
    text = models.CharField(_("item"), max_length=300)
    kind = models.CharField(
        _("how it is met"), max_length=16, choices=ItemKind.choices, default=ItemKind.MANUAL
    )
    needs_evidence = models.BooleanField(_("needs evidence"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # An item checked somewhere is retired when edited: the new wording is a new item.
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["group__position", "group_id", "position", "id"]

    def __str__(self) -> str:
        return self.text

    @property
    def measured(self) -> bool:
        return self.kind != ItemKind.MANUAL


class AssessmentQuerySet(InCompoundQuerySet):
    pass


class Assessment(models.Model):
    """A compound's way to the standard: the checks made since it was last certified (or ever).
    Certifying closes it; a compound revoked starts a new one with its next check."""

    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound"],
                condition=models.Q(closed_at__isnull=True),
                name="assessment_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.compound} {self.opened_at:%Y-%m-%d}"


class CheckQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "assessment__compound__district_id",
        Level.SUBDISTRICT: "assessment__compound__subdistrict_id",
        Level.COMMUNITY: "assessment__compound__community_id",
        Level.COMPOUND: "assessment__compound_id",
    }


class Check(models.Model):
    """A person's finding on one item for one compound: met or not, with evidence."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="checks", verbose_name=_("assessment")
    )
    item = models.ForeignKey(
        ChecklistItem, on_delete=models.PROTECT, related_name="checks", verbose_name=_("item")
    )
    met = models.BooleanField(_("met"))
    note = models.CharField(_("evidence"), max_length=500, blank=True)
    photo = models.FileField(_("photo"), upload_to="campaign/%Y/%m/%d/", blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("checked by"),
    )
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)

    objects = CheckQuerySet.as_manager()

    class Meta:
        verbose_name = _("check")
        verbose_name_plural = _("checks")
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["assessment", "item"], name="check_assessment_item_idx")]

    def __str__(self) -> str:
        return f"{self.item}: {self.met}"


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")


def new_token() -> str:
    return secrets.token_urlsafe(18)


class CertificateQuerySet(InCompoundQuerySet):
    pass


class Certificate(models.Model):
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="+", verbose_name=_("compound")
    )
    assessment = models.OneToOneField(
        Assessment, on_delete=models.PROTECT, related_name="certificate", null=True, blank=True
    )
    number = models.CharField(_("number"), max_length=40, unique=True)
    # What the QR code carries: not guessable, unlike the id or the number.
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CertificateStatus.choices,
        default=CertificateStatus.VALID,
    )
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("certified by"),
    )
    certified_at = models.DateTimeField(_("certified at"), default=timezone.now)
    # The figures it was granted on: [{"item": text, "met": true, "figure": "..."}, ...]
    figures = models.JSONField(_("figures"), default=list, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoke_reason = models.CharField(_("why revoked"), max_length=300, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-certified_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["compound"],
                condition=models.Q(status="valid"),
                name="certificate_one_valid",
            )
        ]

    def __str__(self) -> str:
        return self.number


class PublicityKind(models.TextChoices):
    BANNER = "banner", _("Banners")
    SCREEN = "screen", _("Electronic screens")
    LOUDSPEAKER = "loudspeaker", _("Loudspeakers and broadcasts")
    POSTER = "poster", _("Posters")
    HANDBOOK = "handbook", _("Handbooks")
    VIDEO = "video", _("Short videos")
    LETTER = "letter", _("Appeal letters handed out")


class PublicityQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
        Level.COMPOUND: "community__compounds__id",
    }


class PublicityRecord(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    day = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=12, choices=PublicityKind.choices)
    count = models.PositiveIntegerField(_("count"))
    place = models.CharField(_("place"), max_length=100)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = PublicityQuerySet.as_manager()

    class Meta:
        verbose_name = _("publicity record")
        verbose_name_plural = _("publicity records")
        ordering = ["-day", "-id"]
        indexes = [models.Index(fields=["community", "day"], name="publicity_community_day_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(count__lte=1_000_000), name="publicity_count_bounded"
            )
        ]

    def __str__(self) -> str:
        return f"{self.community} {self.day} {self.get_kind_display()} {self.count}"


class TextKind(models.TextChoices):
    CODE = "code", _("Residents' code")
    LETTER = "letter", _("Appeal letter")


class CampaignText(models.Model):
    """The residents' code (居民守则) and the appeal letter (倡议书), written once per district."""

    district = models.ForeignKey(
        District, on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TextKind.choices)
    title = models.CharField(_("title"), max_length=60)
    body = models.TextField(_("text"), max_length=2000)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = InDistrictQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign text")
        verbose_name_plural = _("campaign texts")
        constraints = [
            models.UniqueConstraint(fields=["district", "kind"], name="campaigntext_unique_kind")
        ]

    def __str__(self) -> str:
        return self.title
