"""The SMS outbox: approved templates, messages (a campaign, or one notification another app
sends), one row per recipient, the batches a dispatcher hands to the worker, the opt-out list
and each community's monthly budget.

messaging knows phone numbers and templates, nothing of residents or volunteers: who receives a
campaign is decided upstairs, by the audience builders residents and volunteers register
(messaging.registry). The database is the source of truth for every SMS: a recipient row goes
queued → sending (claimed into a Batch) → sent → delivered or failed, or suppressed (opted out)
or cancelled; Celery only carries batch ids (messaging.outbox explains the races).
"""

import re
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import ScopedQuerySet
from accounts.models import Level
from compounds.models import Community, Compound, District, Subdistrict
from wuyi.lib import cn

# "{gate}", "{round}": a variable is a name in braces, as the providers' templates write them
# (Aliyun ${gate}, Tencent {1}: the backends translate).
VARIABLE_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,29})\}")


class SmsTemplate(models.Model):
    """A text the provider approved (Chinese providers send only approved templates). City-wide:
    every community sends through the same templates, so there is nothing to scope."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.CharField(
        _("provider template code"),
        max_length=50,
        help_text=_("The template's code at the SMS provider, e.g. SMS_123456789 or 1234567."),
    )
    body = models.TextField(
        _("text"), help_text=_("The approved text, with variables in braces: {gate}, {round}.")
    )
    approved = models.BooleanField(
        _("approved"), default=False, help_text=_("Only approved templates can be sent.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def variables(self) -> list[str]:
        """The variables of the body, in the order they first appear (Tencent's order)."""
        seen: list[str] = []
        for name in VARIABLE_RE.findall(self.body):
            if name not in seen:
                seen.append(name)
        return seen

    def render(self, values: dict[str, str]) -> str:
        return VARIABLE_RE.sub(lambda m: str(values.get(m[1], m[0])), self.body)


class PlaceQuerySet(ScopedQuerySet):
    """Rows that name the place they concern, down to the level known."""

    scope_lookups = {
        Level.DISTRICT: "district_id",
        Level.SUBDISTRICT: "subdistrict_id",
        Level.COMMUNITY: "community_id",
        Level.COMPOUND: "compound_id",
    }


class RecipientQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "message__district_id",
        Level.SUBDISTRICT: "message__subdistrict_id",
        Level.COMMUNITY: "message__community_id",
        Level.COMPOUND: "message__compound_id",
    }


class CommunityQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
    }


class Allowance(models.TextChoices):
    """The budget line a message is charged to. Each community has three a month: its SMS
    budget (campaigns, and anything not marked otherwise); the system allowance (texts a
    household or a volunteer needs to do their job: handover codes, login links, overdue
    reminders and escalations, pickup times), so that a campaign cannot starve them; and the
    public allowance (texts people without an account ask for: ordering codes), so that an
    outsider spends only that."""

    CAMPAIGN = "campaign", _("SMS budget")
    SYSTEM = "system", _("System texts")
    PUBLIC = "public", _("Requested by residents")


class Message(models.Model):
    """One SMS text going to one or many numbers: a campaign a secretary composed, or a
    notification another app sent through messaging.services.send_sms."""

    template = models.ForeignKey(
        SmsTemplate, on_delete=models.PROTECT, related_name="+", verbose_name=_("template")
    )
    variables = models.JSONField(_("variables"), default=dict, blank=True)
    purpose = models.CharField(_("purpose"), max_length=40)
    audience = models.CharField(_("audience"), max_length=40, blank=True)
    description = models.CharField(_("recipients"), max_length=200, blank=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sender"),
    )
    # The place the message concerns, filled from the district down as far as it is known.
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
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("compound")
    )
    send_at = models.DateTimeField(_("send at"))
    urgent = models.BooleanField(
        _("urgent"), default=False, help_text=_("Urgent messages are sent during quiet hours too.")
    )
    # The same key never sends twice (a double submit, a task run twice, a retried request).
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0)
    segments = models.PositiveSmallIntegerField(_("SMS per recipient"), default=1)
    cost_estimate = models.DecimalField(
        _("estimated cost (yuan)"), max_digits=13, decimal_places=3, default=Decimal("0")
    )
    # The line the cost was charged to (a system text whose allowance ran out is charged to
    # the community's budget): a cancel gives back to that line.
    allowance = models.CharField(
        _("charged to"), max_length=10, choices=Allowance.choices, default=Allowance.CAMPAIGN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
    )

    objects = PlaceQuerySet.as_manager()

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        ordering = ["-send_at", "-id"]
        indexes = [
            models.Index(fields=["community", "send_at"], name="message_community_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} · {self.description}"

    @property
    def text(self) -> str:
        """The text with the message's variables (a recipient's own ones are not in it)."""
        return self.template.render(self.variables)

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


class Batch(models.Model):
    """Recipients one dispatcher run claimed together and handed to one task.

    `inflight_low`..`inflight_high` is the id range of the recipients handed to the provider
    in the call under way: a worker that dies then leaves them in doubt, and recovery asks the
    provider which of them it received instead of sending them again."""

    class State(models.TextChoices):
        CLAIMED = "claimed", _("Claimed")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        ABANDONED = "abandoned", _("Abandoned")

    provider = models.CharField(max_length=20)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CLAIMED)
    size = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True)
    heartbeat_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    inflight_low = models.BigIntegerField(null=True)
    inflight_high = models.BigIntegerField(null=True)

    class Meta:
        verbose_name = _("SMS batch")
        verbose_name_plural = _("SMS batches")
        indexes = [
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(state__in=["claimed", "running"]),
                name="batch_open_idx",
            )
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.size})"


class RecipientStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Opted out")
    CANCELLED = "cancelled", _("Cancelled")


class BlockRangeIndex(models.Index):
    """BRIN on PostgreSQL, a plain index elsewhere. A BRIN index keeps one summary per range of
    pages, not an entry per row: a campaign's recipients lie together, so it finds them as
    well, and the status changes of a million rows do not each pay for a b-tree entry."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            using = " USING brin"
        return super().create_sql(model, schema_editor, using=using, **kwargs)


class Recipient(models.Model):
    """One number a message goes to, and what became of it.

    Each number once per message: the message's writer drops repeats (one transaction writes
    all of a message's recipients), so no unique b-tree has to follow every status change."""

    Status = RecipientStatus

    # No database constraint either: PostgreSQL checks a deferred foreign key row by row at
    # COMMIT, a third of the time it takes to write a city's campaign. Recipients are written
    # only by the message's own writer in the message's transaction, and Django's collector
    # still deletes them with their message.
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="recipients",
        verbose_name=_("message"),
        db_index=False,  # recipient_message_idx, below
        db_constraint=False,
    )
    phone = models.CharField(_("phone"), max_length=20)
    variables = models.JSONField(_("variables"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RecipientStatus.choices, default=RecipientStatus.QUEUED
    )
    urgent = models.BooleanField(default=False)  # the message's, here for the claim's index
    due_at = models.DateTimeField(_("due at"))
    # The batch that claimed it (no constraint: a claim writes a thousand rows at a time, and a
    # foreign-key check per row at COMMIT would cost more than the claim).
    batch = models.ForeignKey(
        Batch,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    provider_id = models.CharField(_("provider message id"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # The provider's own time of the receipt applied last: a receipt reported later by the
    # provider wins over an earlier one, whatever order they arrive in.
    reported_at = models.DateTimeField(_("receipt time"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = RecipientQuerySet.as_manager()

    class Meta:
        verbose_name = _("SMS recipient")
        verbose_name_plural = _("SMS recipients")
        ordering = ["message_id", "id"]
        # Every b-tree index but the primary key is partial: a status change rewrites the row,
        # and each full b-tree would take a new entry at every step of a million-row campaign.
        indexes = [
            # A message's recipients (results, cancel).
            BlockRangeIndex(fields=["message"], name="recipient_message_idx"),
            # The dispatcher's claim: due rows in order, read from this index alone.
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(status="queued"),
                name="recipient_due_idx",
            ),
            # A batch's rows, and recovery of a dead worker's.
            models.Index(
                fields=["batch"],
                condition=models.Q(status="sending"),
                name="recipient_sending_idx",
            ),
            # Delivery receipts name the provider's id.
            models.Index(
                fields=["provider_id"],
                condition=~models.Q(provider_id=""),
                name="recipient_provider_id_idx",
            ),
            # SMS sent per community per day.
            models.Index(
                fields=["sent_at"],
                condition=models.Q(sent_at__isnull=False),
                name="recipient_sent_at_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.masked_phone} · {self.get_status_display()}"

    @property
    def masked_phone(self) -> str:
        return cn.mask_phone(self.phone)


class OptOut(models.Model):
    """A number that asked for no more SMS. Only a keyed hash of it is kept (and its last four
    digits, to show): the list says who opted out to nobody who does not already hold the
    number. Urgent messages are suppressed too: the person asked."""

    phone_hash = models.CharField(max_length=64, unique=True, editable=False)
    phone_last4 = models.CharField(_("last four digits"), max_length=4, editable=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    community = models.ForeignKey(
        Community,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by community"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("SMS opt-out")
        verbose_name_plural = _("SMS opt-outs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.masked_phone

    @property
    def masked_phone(self) -> str:
        return "*******" + self.phone_last4


class Budget(models.Model):
    """What a community may spend on SMS in a calendar month (Asia/Shanghai), per line
    (Allowance): its SMS budget, and the allowances of system texts and of texts residents ask
    for (empty: the amounts in settings). What was spent is kept in Spending."""

    community = models.OneToOneField(
        Community, on_delete=models.CASCADE, related_name="+", verbose_name=_("community")
    )
    monthly_amount = models.DecimalField(
        _("monthly budget (yuan)"), max_digits=10, decimal_places=2
    )
    system_amount = models.DecimalField(
        _("monthly allowance for system texts (yuan)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "Handover codes, login links, overdue reminders, pickup times. Empty: the default."
        ),
    )
    public_amount = models.DecimalField(
        _("monthly allowance for texts residents ask for (yuan)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Ordering codes sent through the residents' ordering link. Empty: default."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        verbose_name = _("SMS budget")
        verbose_name_plural = _("SMS budgets")
        ordering = ["community_id"]

    def __str__(self) -> str:
        return f"{self.community}: {self.monthly_amount}"


class Spending(models.Model):
    """What a community spent on one budget line in one month (Asia/Shanghai): the counter a
    message's cost is charged to, by one conditional UPDATE (``spent + cost <= limit``) that
    is the last statement of the message's transaction, so the row is locked only while that
    transaction commits. Cancelling gives back what did not go out."""

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", verbose_name=_("community")
    )
    month = models.DateField(_("month"))  # its first day
    allowance = models.CharField(_("budget line"), max_length=10, choices=Allowance.choices)
    spent = models.DecimalField(
        _("spent (yuan)"), max_digits=13, decimal_places=3, default=Decimal("0")
    )

    class Meta:
        verbose_name = _("SMS spending")
        verbose_name_plural = _("SMS spending")
        ordering = ["community_id", "-month", "allowance"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "month", "allowance"], name="spending_unique_line"
            )
        ]

    def __str__(self) -> str:
        return f"{self.community_id} {self.month:%Y-%m} {self.allowance}: {self.spent}"


class EarlyReceipt(models.Model):
    """A delivery receipt that named no SMS recorded as sent (yet): the provider answered
    before the worker recorded its call, or it names an id we do not know. Kept, not dropped
    (the provider does not send it again), and applied when the send is recorded; those
    older than a few days are let go."""

    provider = models.CharField(max_length=20)
    provider_id = models.CharField(max_length=64)
    phone = models.CharField(max_length=20, blank=True)
    delivered = models.BooleanField()
    error = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(null=True)  # the provider's time
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["provider", "provider_id"], name="early_receipt_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_id}"
