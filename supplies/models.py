"""Supplies for sealed compounds: suppliers and their catalogue, group buys (团购), household
orders and proxy purchases (代购), contactless delivery with a handover code, and payment.

An order carries its compound and building (denormalised from the household) so that scoping,
the picking list and a building's batch of deliveries read one table. Claiming is a
conditional UPDATE (services.orders_claim): `claimed_by` is set only where it is still empty,
so two volunteers tapping "claim" on the same building at once never both get one order; a
check constraint keeps an order out for delivery always claimed by exactly one person.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.access import ScopedQuerySet
from accounts.models import Level
from compounds.models import Building, Community, Compound, InCompoundQuerySet
from residents.models import Household


class CommunityRowQuerySet(ScopedQuerySet):
    """Rows that belong to a community (its suppliers): seen by the community and above, and
    by those posted to one of its compounds."""

    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
        Level.COMPOUND: "community__compounds__id",
    }


class CatalogueQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "supplier__community__subdistrict__district_id",
        Level.SUBDISTRICT: "supplier__community__subdistrict_id",
        Level.COMMUNITY: "supplier__community_id",
        Level.COMPOUND: "supplier__community__compounds__id",
    }


class GroupBuyQuerySet(ScopedQuerySet):
    """A group buy belongs to a community and serves some of its compounds: someone posted to
    a compound sees the group buys that serve it."""

    scope_lookups = {
        Level.DISTRICT: "community__subdistrict__district_id",
        Level.SUBDISTRICT: "community__subdistrict_id",
        Level.COMMUNITY: "community_id",
        Level.COMPOUND: "compounds__id",
    }


class ProxyQuerySet(ScopedQuerySet):
    scope_lookups = {
        Level.DISTRICT: "order__compound__district_id",
        Level.SUBDISTRICT: "order__compound__subdistrict_id",
        Level.COMMUNITY: "order__compound__community_id",
        Level.COMPOUND: "order__compound_id",
    }


class Supplier(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    name = models.CharField(_("name"), max_length=80)
    contact = models.CharField(_("contact person"), max_length=40, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = CommunityRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["community_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="supplier_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class CatalogueItem(models.Model):
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="items", verbose_name=_("supplier")
    )
    name = models.CharField(_("name"), max_length=60)
    unit = models.CharField(
        pgettext_lazy("measure", "unit"), max_length=10, help_text=_("e.g. 袋, 桶, 箱")
    )
    price = models.DecimalField(_("price"), max_digits=8, decimal_places=2)
    active = models.BooleanField(_("active"), default=True)

    objects = CatalogueQuerySet.as_manager()

    class Meta:
        verbose_name = _("catalogue item")
        verbose_name_plural = _("catalogue")
        ordering = ["supplier_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "name", "unit"], name="item_unique_name"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="item_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.unit}）"


class GroupBuyStatus(models.TextChoices):
    OPEN = "open", _("Open for orders")
    CLOSED = "closed", _("Closed")
    PURCHASED = "purchased", _("Purchased")
    DELIVERING = "delivering", _("Delivering")
    DONE = "done", _("Done")


class GroupBuy(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", verbose_name=_("community")
    )
    compounds = models.ManyToManyField(Compound, related_name="+", verbose_name=_("compounds"))
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="+", verbose_name=_("supplier")
    )
    title = models.CharField(_("title"), max_length=80)
    deadline = models.DateTimeField(_("order deadline"))
    delivery_date = models.DateField(_("delivery date"))
    status = models.CharField(
        _("status"), max_length=12, choices=GroupBuyStatus.choices, default=GroupBuyStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = GroupBuyQuerySet.as_manager()

    class Meta:
        verbose_name = _("group buy")
        verbose_name_plural = _("group buys")
        ordering = ["-deadline", "-id"]
        indexes = [models.Index(fields=["community", "status"], name="groupbuy_comm_status_idx")]

    def __str__(self) -> str:
        return self.title

    def accepts_orders(self, now=None) -> bool:
        return self.status == GroupBuyStatus.OPEN and (now or timezone.now()) < self.deadline


class GroupBuyItem(models.Model):
    """An item of a group buy at its price for this buy (read through its group buy)."""

    group_buy = models.ForeignKey(
        GroupBuy, on_delete=models.CASCADE, related_name="items", verbose_name=_("group buy")
    )
    catalogue_item = models.ForeignKey(
        CatalogueItem, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=60)
    unit = models.CharField(pgettext_lazy("measure", "unit"), max_length=10)
    price = models.DecimalField(_("price"), max_digits=8, decimal_places=2)
    max_per_order = models.PositiveSmallIntegerField(_("at most per household"), default=10)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("group-buy item")
        verbose_name_plural = _("group-buy items")
        ordering = ["group_buy_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="gbitem_price_positive"),
            models.CheckConstraint(
                condition=models.Q(max_per_order__gte=1), name="gbitem_max_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.unit}）"


class OrderKind(models.TextChoices):
    GROUP_BUY = "group_buy", _("Group buy")
    PROXY = "proxy", _("Proxy purchase")


class OrderStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    PURCHASED = "purchased", _("Purchased")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Delivery failed")
    CANCELLED = "cancelled", _("Cancelled")


# Still to be brought to the door (the backlog).
OPEN_STATUSES = (
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.PURCHASED,
    OrderStatus.OUT_FOR_DELIVERY,
    OrderStatus.FAILED,
)
# What a volunteer may claim: bought and waiting, or a failed delivery to try again.
CLAIMABLE = (OrderStatus.PURCHASED, OrderStatus.FAILED)


class DeliveredHow(models.TextChoices):
    LEFT_AT_DOOR = "door", _("Left at the door")
    HANDED_OVER = "hand", _("Handed over")
    AT_GATE = "gate", _("Collected at the gate")


class PaymentMethod(models.TextChoices):
    WECHAT = "wechat", _("WeChat transfer")
    CASH = "cash", _("Cash")
    FREE = "free", _("Free (donated)")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class Order(models.Model):
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="+", verbose_name=_("compound")
    )
    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="+", verbose_name=_("building")
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="+", verbose_name=_("household")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=OrderKind.choices)
    group_buy = models.ForeignKey(
        GroupBuy,
        on_delete=models.PROTECT,
        related_name="orders",
        null=True,
        blank=True,
        verbose_name=_("group buy"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.SUBMITTED
    )
    urgent = models.BooleanField(_("urgent"), default=False)
    # Whoever sent it, per submit: a second submit with the same key returns this order.
    client_key = models.CharField(max_length=64, unique=True)
    phone = models.CharField(_("phone for the handover code"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    amount_due = models.DecimalField(_("amount due"), max_digits=10, decimal_places=2, default=0)
    payment_method = models.CharField(
        _("payment method"), max_length=10, choices=PaymentMethod.choices, blank=True
    )
    paid = models.BooleanField(_("paid"), default=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("claimed by"),
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # The claim that set claimed_by: a claim reads back the rows its UPDATE took by it.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    codes_sent = models.PositiveSmallIntegerField(default=0, editable=False)
    delivered_how = models.CharField(
        _("delivered how"), max_length=4, choices=DeliveredHow.choices, blank=True
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    photo = models.FileField(_("delivery photo"), upload_to="supplies/%Y/%m/%d/", blank=True)
    failures = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            # One live order per household in a group buy (a cancelled one may be replaced).
            models.UniqueConstraint(
                fields=["group_buy", "household"],
                condition=~models.Q(status="cancelled"),
                name="order_one_per_household",
            ),
            # Out for delivery is always someone's, and only then or later is it claimed.
            models.CheckConstraint(
                condition=~models.Q(status="out_for_delivery") | models.Q(claimed_by__isnull=False),
                name="order_out_claimed",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="proxy") | models.Q(group_buy__isnull=False),
                name="order_group_buy_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_due__gte=0), name="order_amount_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["building", "status"], name="order_building_status_idx"),
            models.Index(fields=["compound", "status"], name="order_compound_status_idx"),
            models.Index(fields=["claimed_by", "status"], name="order_claimer_idx"),
            models.Index(fields=["submitted_at"], name="order_submitted_idx"),
            # The dashboards: orders waiting (and how long) per place, read from the index.
            models.Index(
                fields=["compound", "submitted_at"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="order_open_idx",
            ),
            # The dashboards: delivery times of the last days, read from the index.
            models.Index(
                fields=["delivered_at"],
                include=["compound", "submitted_at"],
                condition=models.Q(status="delivered"),
                name="order_delivered_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.household}"

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def donated(self) -> bool:
        return self.payment_method == PaymentMethod.FREE


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(GroupBuyItem, on_delete=models.PROTECT, related_name="lines")
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    price = models.DecimalField(_("price"), max_digits=8, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "item_id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "item"], name="line_unique_item"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="line_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.item} × {self.quantity}"

    @property
    def amount(self):
        return self.price * self.quantity


class OrderEvent(models.Model):
    """One step of an order's life: from which status to which, by whom, when (read through
    its order)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order history")
        ordering = ["order_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status}"


class ProxyPurchase(models.Model):
    """A proxy purchase (代购): what to buy, said in words (medicine, infant formula)."""

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, related_name="proxy", verbose_name=_("order")
    )
    items = models.TextField(_("what to buy"), max_length=1000)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL
    )
    estimate = models.DecimalField(
        _("estimated cost"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    receipt_amount = models.DecimalField(
        _("receipt amount"), max_digits=10, decimal_places=2, null=True, blank=True
    )

    objects = ProxyQuerySet.as_manager()

    class Meta:
        verbose_name = _("proxy purchase")
        verbose_name_plural = _("proxy purchases")
        ordering = ["-order_id"]

    def __str__(self) -> str:
        return self.items[:40]


class Proof(models.TextChoices):
    CODE = "code", _("Handover code")
    PHOTO = "photo", _("Photo at the door")
    BOTH = "both", _("Code and photo")


class DeliveryRule(models.Model):
    """How a compound's deliveries are proved (a code when nothing is set), and how its
    residents pay."""

    compound = models.OneToOneField(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    proof = models.CharField(
        _("delivery proof"), max_length=5, choices=Proof.choices, default=Proof.CODE
    )
    # How residents pay, in the committee's words (shown on the ordering page and its poster).
    payment_note = models.CharField(
        _("how residents pay"),
        max_length=300,
        blank=True,
        help_text=_(
            "e.g. WeChat transfer to 张丽华 (138****0001) on delivery, or cash at the gate."
        ),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery rule")
        verbose_name_plural = _("delivery rules")

    def __str__(self) -> str:
        return f"{self.compound}: {self.get_proof_display()}"


class OrderLink(models.Model):
    """A compound's link for residents to order themselves (no account): whoever opens it
    proves with a code sent by SMS to a number on the register that they live there."""

    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", verbose_name=_("compound")
    )
    token = models.CharField(max_length=43, unique=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = InCompoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("ordering link")
        verbose_name_plural = _("ordering links")
        ordering = ["compound_id", "-created_at"]

    def __str__(self) -> str:
        return f"{self.compound} {self.created_at:%m-%d}"
