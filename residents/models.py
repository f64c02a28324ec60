"""Households, residents, the vulnerable-person ledger and the record of who saw what.

A resident carries its compound and community ids (denormalised from the household) so that the
jurisdiction filter and the search indexes work on one table. National ID numbers are stored
only as ciphertext, a keyed hash (lookup, uniqueness) and the last four characters (search).
"""

from typing import Self

from django.conf import settings
from django.db import models
from django.db.models.functions import Right
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.access import ScopedQuerySet
from accounts.models import Level, User
from compounds.models import (
    Building,
    Community,
    Compound,
    District,
    Subdistrict,
    address_label,
)
from wuyi.lib import cn, pii
from wuyi.lib.choices import choice_label


@deconstructible(path="residents.models.ByteOrder")
class ByteOrder(models.Func):
    """A text column in byte order: COLLATE "C" on PostgreSQL, "BINARY" on SQLite.

    An index on it serves both LIKE 'prefix%' and ORDER BY whatever the database's locale, so a
    surname search walks the index in order and stops at the page size instead of sorting
    every match.
    """

    template = '%(expressions)s COLLATE "C"'

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="%(expressions)s COLLATE BINARY", **extra_context
        )


# A phone number's last four digits, as the lists show them ("198****0765"): indexed, so that
# a search by them reads one index whatever the scope.
PHONE_TAIL = Right("phone", 4)


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Category(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("Elderly living alone")
    ELDERLY = "elderly", _("Elderly")
    PREGNANT = "pregnant", _("Pregnant or postpartum")
    INFANT = "infant", _("Infant")
    DISABLED = "disabled", _("Disabled")
    CHRONIC = "chronic", _("Chronic illness")
    BEDRIDDEN = "bedridden", _("Bedridden")
    OTHER = "other", _("Other")


class HouseholdQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "compound__district_id",
        Level.SUBDISTRICT: "compound__subdistrict_id",
        Level.COMMUNITY: "compound__community_id",
        Level.COMPOUND: "compound_id",
    }


class LeftReason(models.TextChoices):
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")
    WRONG_ENTRY = "wrong_entry", _("Entered by mistake")


class ResidentQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "compound__district_id",
        Level.SUBDISTRICT: "compound__subdistrict_id",
        Level.COMMUNITY: "community_id",
        Level.COMPOUND: "compound_id",
    }

    def current(self) -> Self:
        """Residents still on the register (not left: moved out, deceased, entered by
        mistake). Lists, counts and searches show only these."""
        return self.filter(left_on__isnull=True)


class VulnerableTagQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "resident__compound__district_id",
        Level.SUBDISTRICT: "resident__compound__subdistrict_id",
        Level.COMMUNITY: "resident__community_id",
        Level.COMPOUND: "resident__compound_id",
    }


class Household(models.Model):
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="households", verbose_name=_("compound")
    )
    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="households", verbose_name=_("building")
    )
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    room = models.CharField(_("room"), max_length=20)
    notes = models.CharField(_("notes"), max_length=200, blank=True)

    objects = HouseholdQuerySet.as_manager()
    history = HistoricalRecords()

    # Set before save() or delete(); django-simple-history records them on the history row.
    _history_user: User | None
    _change_reason: str

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["building_id", "unit", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "unit", "room"], name="household_unique_address"
            )
        ]
        indexes = [
            models.Index(fields=["compound", "room"], name="household_compound_room_idx"),
            # A bare room number ("501") across the user's area, in household order.
            models.Index(fields=["room", "id"], name="household_room_idx"),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return address_label(self.building.number, self.unit, self.room)


class Resident(models.Model):
    # The fields of a person's record, declared once: the form, the API, the import, the admin
    # and the services derive their lists from these two.
    RECORD_FIELDS = (
        "name",
        "gender",
        "birth_date",
        "phone",
        "relation",
        "notes",
    )
    LIST_FIELDS = RECORD_FIELDS[:6]  # what a resident list brings; the import writes these

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="residents", verbose_name=_("household")
    )
    # Denormalised from the household; set by save() and by the import.
    # No index of their own: the composite indexes below start with them.
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    id_cipher = models.TextField(_("ID number (encrypted)"), blank=True, editable=False)
    # Unique through a constraint (below), not unique=True, which would add a LIKE index too.
    id_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    id_last4 = models.CharField(_("ID number, last 4"), max_length=4, blank=True, editable=False)
    relation = models.CharField(_("relation to the household head"), max_length=20, blank=True)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    left_on = models.DateField(_("left the register on"), null=True, blank=True, editable=False)
    left_reason = models.CharField(
        _("reason for leaving"),
        max_length=12,
        choices=LeftReason.choices,
        blank=True,
        default="",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    objects = ResidentQuerySet.as_manager()
    # History says who changed a record and when, never a personal value: an old phone or
    # birth date beside the new one would be shown in full by the admin's history page (and
    # kept after a correction). The full values are seen, recorded, on the resident's page.
    history = HistoricalRecords(
        excluded_fields=[
            "id_cipher",
            "id_hash",
            "id_last4",
            "phone",
            "birth_date",
            "compound",
            "community",
        ]
    )

    # Set before save() or delete(); django-simple-history records them on the history row.
    _history_user: User | None
    _change_reason: str

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["household_id", "id"]
        constraints = [
            # One current resident per ID number; those who left keep theirs in the record.
            models.UniqueConstraint(
                fields=["id_hash"],
                condition=models.Q(left_on__isnull=True),
                name="resident_unique_id_hash",
            ),
        ]
        indexes = [
            # Search (selectors.resident_search). Names in byte order, so that a prefix search
            # reads the index in order and stops at the page size: within a community for a
            # secretary, across the city for district staff, within a compound for volunteers.
            models.Index("community", ByteOrder("name"), "id", name="resident_community_name_idx"),
            models.Index(ByteOrder("name"), "id", name="resident_name_idx"),
            models.Index("compound", ByteOrder("name"), "id", name="resident_compound_name_idx"),
            # Phone numbers and the ID's last four are nearly unique across the city: one
            # global index each serves every scope. The pattern opclass serves LIKE 'prefix%'
            # on PostgreSQL in any locale (other databases ignore it).
            models.Index(
                fields=["phone"], name="resident_phone_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["id_last4"], name="resident_id4_idx"),
            models.Index(PHONE_TAIL, name="resident_phone4_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.household_id is not None:
            self.compound_id, self.community_id = Household.objects.values_list(
                "compound_id", "compound__community_id"
            ).get(pk=self.household_id)
        self.updated_at = timezone.now()
        super().save(*args, **kwargs)

    # Where an ID number is stored: ciphertext, keyed hash (lookup, uniqueness), last four.
    NATIONAL_ID_COLUMNS = ("id_cipher", "id_hash", "id_last4")

    @staticmethod
    def national_id_columns(
        id18: str, *, id_hash: str | None = None
    ) -> tuple[str, str | None, str]:
        """The stored columns (NATIONAL_ID_COLUMNS) of a normalised ID number ('' for none).
        The one place an ID number is turned into what is stored; `id_hash` saves recomputing
        a hash the caller already has (the import computes it once per row)."""
        if not id18:
            return "", None, ""
        return pii.encrypt(id18), id_hash or pii.keyed_hash(id18), id18[-4:]

    def set_national_id(self, id18: str, *, id_hash: str | None = None) -> None:
        """Store a normalised ID number (or clear it with '')."""
        self.id_cipher, self.id_hash, self.id_last4 = self.national_id_columns(
            id18, id_hash=id_hash
        )

    @property
    def national_id(self) -> str:
        """The full ID number. Callers show it only to roles that may see it, and record it."""
        return pii.decrypt(self.id_cipher) if self.id_cipher else ""

    @property
    def masked_national_id(self) -> str:
        """The last four only (from the stored column: nothing is decrypted to mask)."""
        return cn.mask_id_last4(self.id_last4) if self.id_cipher else ""

    @property
    def masked_phone(self) -> str:
        return cn.mask_phone(self.phone)

    @property
    def is_current(self) -> bool:
        return self.left_on is None

    @property
    def age(self) -> int | None:
        if self.birth_date is None:
            return None
        today = timezone.localdate()
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def age_label(self) -> str:
        """The age in the reader's language ("67岁", "67 yrs"); empty without a birth date. Made
        here, not by a blocktranslate per row: a register page of 50 rows spent 1.7 ms on that
        tag alone."""
        age = self.age
        return "" if age is None else gettext("%(age)s yrs") % {"age": age}

    @property
    def gender_label(self) -> str:
        """get_gender_display(), at a list's pace (wuyi.lib.choices)."""
        return choice_label(Gender, self.gender)


class VulnerableTag(models.Model):
    """One line of the vulnerable-person ledger (特殊人群台账)."""

    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="tags", verbose_name=_("resident")
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    details = models.CharField(_("details"), max_length=200, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    treatment = models.CharField(
        _("treatment"), max_length=50, blank=True, help_text=_("For example: dialysis")
    )
    schedule = models.CharField(
        _("schedule"), max_length=100, blank=True, help_text=_("For example: Mon/Wed/Fri 08:00")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = VulnerableTagQuerySet.as_manager()
    history = HistoricalRecords()

    # Set before save() or delete(); django-simple-history records them on the history row.
    _history_user: User | None
    _change_reason: str

    class Meta:
        verbose_name = _("vulnerable-person tag")
        verbose_name_plural = _("vulnerable-person ledger")
        ordering = ["resident_id", "category"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "category"], name="tag_unique_category")
        ]
        indexes = [models.Index(fields=["category"], name="tag_category_idx")]

    def __str__(self) -> str:
        return f"{self.resident}: {self.get_category_display()}"

    @property
    def category_label(self) -> str:
        """get_category_display(), at a list's pace (wuyi.lib.choices)."""
        return choice_label(Category, self.category)


class CommunityScopedQuerySet(ScopedQuerySet):
    """Rows that belong to a community as a whole (imports)."""

    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
    }


class AccessQuerySet(ScopedQuerySet):
    """Records of access name the place they concern, down to the level known: a district's
    export is seen by that district's staff, a community's by everyone above it too."""

    scope_lookups = {
        Level.DISTRICT: "district_id",
        Level.SUBDISTRICT: "subdistrict_id",
        Level.COMMUNITY: "community_id",
    }


class PersonalDataAccess(models.Model):
    """Each time someone saw a full ID number or phone, or exported a list."""

    class Kind(models.TextChoices):
        VIEW = "view", _("Full view")
        EXPORT = "export", _("Export")
        EXPORT_FULL = "export_full", _("Export with full values")
        ID_CONFLICT = "id_conflict", _("ID number registered elsewhere")
        CALL = "call", _("Phone call")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # The place the access concerns, filled from the district down as far as it is known.
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("district")
    )
    subdistrict = models.ForeignKey(
        Subdistrict,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("sub-district"),
    )
    community = models.ForeignKey(
        Community,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("community"),
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("resident")
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    at = models.DateTimeField(_("at"), default=timezone.now)

    objects = AccessQuerySet.as_manager()

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class ImportJob(models.Model):
    """One upload of a resident list: its preview, its commit and their progress."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
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
    filename = models.CharField(_("file name"), max_length=200)
    path = models.CharField(max_length=300, editable=False)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    skip_bad_rows = models.BooleanField(_("skip bad rows"), default=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, editable=False)
    progress = models.PositiveIntegerField(_("rows done"), default=0)
    total = models.PositiveIntegerField(_("rows"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The last sign of life of the run that owns the job (services.import_job_heartbeat): set
    # when a run starts or a commit is claimed, and as a check progresses. A running job whose
    # heartbeat is older than WUYI_IMPORT_LEASE_SECONDS lost its worker (import_jobs_expire).
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True, editable=False)

    objects = CommunityScopedQuerySet.as_manager()

    # A job in one of these states belongs to a run (or waits for one).
    RUNNING = (State.QUEUED, State.CHECKING, State.IMPORTING)

    class Meta:
        verbose_name = _("resident import")
        verbose_name_plural = _("resident imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class CategoryMapping(models.Model):
    """A word a community writes for a ledger category ("低保户" → other), mapped once on the
    import preview and used for its later lists."""

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", verbose_name=_("community")
    )
    word = models.CharField(_("word"), max_length=40)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = CommunityScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("category word")
        verbose_name_plural = _("category words")
        constraints = [
            models.UniqueConstraint(fields=["community", "word"], name="mapping_unique_word")
        ]

    def __str__(self) -> str:
        return f"{self.word} → {self.get_category_display()}"


# ----------------------------------------------------------------------------- links and codes


class LinkCode(models.Model):
    """A request for a code through a link a resident holds without an account (a compound's
    ordering link in supplies, a household's own link here), for a number at a door: only
    hashes of the number and the code are kept. Every request is a row (the limits per
    number, door and link count them), whether or not the number lives there: the worker
    looks that up after the page has answered (residents.codes.code_deliver), and only then
    are `household` and the code set. `purpose` and `link_id` name the link (no foreign key:
    links live in several apps)."""

    purpose = models.CharField(max_length=20)
    link_id = models.PositiveBigIntegerField()
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+")
    phone_hash = models.CharField(max_length=64)
    # The door as the resident typed it (cleaned as the register stores addresses).
    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    unit = models.CharField(max_length=10, blank=True)
    room = models.CharField(max_length=20, blank=True)
    code_hash = models.CharField(max_length=64)
    sent_at = models.DateTimeField(default=timezone.now)
    looked_up_at = models.DateTimeField(null=True, blank=True)
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("link code")
        verbose_name_plural = _("link codes")
        ordering = ["-sent_at"]
        indexes = [
            models.Index(fields=["phone_hash", "sent_at"], name="linkcode_phone_idx"),
            models.Index(fields=["purpose", "link_id", "sent_at"], name="linkcode_link_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.sent_at:%m-%d %H:%M}"


class HouseholdLinkQuerySet(ScopedQuerySet):
    scope_lookups = HouseholdQuerySet.scope_lookups


class HouseholdLink(models.Model):
    """A household's own link (no account), texted to its numbers: whoever opens it proves
    with a code sent to one of them that they live there, then sees what the apps offer the
    household (residents.registry: order, escort, health report, a need, notices). One
    active link per household (a partial unique constraint): renewing voids the old one, which
    then answers as an unknown link does."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="+", verbose_name=_("household")
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    token = models.CharField(max_length=43, unique=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)

    objects = HouseholdLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("household link")
        verbose_name_plural = _("household links")
        ordering = ["household_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=models.Q(active=True),
                name="householdlink_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.created_at:%m-%d}"


class HouseholdActionLog(models.Model):
    """One thing a household did through its own link (proved itself, ordered, asked for an
    escort, reported health, sent a need): the action's key and a short description, never
    the number that opened the link."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="+", verbose_name=_("household")
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    link = models.ForeignKey(
        HouseholdLink, on_delete=models.CASCADE, related_name="log", verbose_name=_("link")
    )
    action = models.CharField(_("action"), max_length=40)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    objects = HouseholdLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("household link action")
        verbose_name_plural = _("household link actions")
        ordering = ["-at"]
        indexes = [models.Index(fields=["household", "at"], name="householdlog_household_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%m-%d %H:%M}"
