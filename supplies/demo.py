"""Demo supplies: a supplier with its catalogue, a group buy open for orders, an earlier group
buy out for delivery with its orders across every state, an urgent proxy purchase and the
residents' ordering links. Idempotent: a community that has the demo supplier is left as it is."""

import datetime
import random
import uuid
from decimal import Decimal

from django.utils import timezone

from accounts.models import Role, User
from compounds.models import Compound, Posting
from messaging.models import SmsTemplate
from residents.models import Household
from wuyi.lib.localday import aware

from . import notify, rules, services
from .models import GroupBuyStatus, Order, OrderStatus, Supplier

SUPPLIER = "兰州鲜丰农副产品配送中心"
CATALOGUE = [
    ("东北大米10kg", "袋", "52.00"),
    ("雪花面粉5kg", "袋", "28.00"),
    ("金龙鱼食用油5L", "桶", "69.90"),
    ("时令蔬菜包", "份", "35.00"),
    ("矿泉水550ml×24", "箱", "30.00"),
    ("鲜鸡蛋30枚", "盒", "32.00"),
    ("纯牛奶250ml×12", "箱", "45.00"),
    ("卫生纸10卷", "提", "25.00"),
]


def _key() -> str:
    return uuid.uuid4().hex


def _approve_texts() -> None:
    # The handover text, approved as a provider would (the code is the demo's).
    for n, (name, body) in enumerate(notify.TEXTS.items()):
        template, _created = SmsTemplate.objects.get_or_create(
            name=name, defaults={"code": "", "body": body}
        )
        if not template.approved:
            SmsTemplate.objects.filter(pk=template.pk).update(
                code=f"SMS_27015050{n}", approved=True
            )


def _seed_last_week(
    rng, secretary, supplier, compound, compounds, items, households, volunteer
) -> int:
    now = timezone.now()
    today = timezone.localdate()
    community = supplier.community
    created = 0
    # Last week's buy: bought and out for delivery, its orders in every state. It is made open
    # for a few minutes (a deadline must lie ahead, and delivery on its day or later: at 23:58
    # that day is tomorrow), then dated back below.
    soon = now + datetime.timedelta(minutes=5)
    old = services.group_buy_create(
        by=secretary,
        community=community,
        supplier=supplier,
        title=f"{(today - datetime.timedelta(days=2)):%-m月%-d日}粮油团购",
        compounds=compounds,
        deadline=soon,
        delivery_date=timezone.localdate(soon),
        items=[(item, None, 5) for item in items[:4]],
    )
    old_items = list(old.items.all())
    first_half = households[: len(households) // 2]
    for household in first_half:
        quantities = {i.pk: rng.choice([0, 1, 1, 2]) for i in old_items}
        quantities[old_items[0].pk] = 1
        services.order_submit(
            by=secretary,
            household=household,
            group_buy=old,
            quantities=quantities,
            client_key=_key(),
            phone=f"139{rng.randrange(10**8):08d}" if rng.random() < 0.85 else "",
        )
        created += 1
    services.group_buy_advance(by=secretary, group_buy=old, to=GroupBuyStatus.CLOSED)
    services.group_buy_advance(by=secretary, group_buy=old, to=GroupBuyStatus.PURCHASED)
    services.group_buy_advance(by=secretary, group_buy=old, to=GroupBuyStatus.DELIVERING)
    orders = list(Order.objects.filter(group_buy=old).order_by("pk"))
    # Two days ago: the deadline passed, the orders came in then.
    Order.objects.filter(group_buy=old).update(
        submitted_at=now - datetime.timedelta(days=2, hours=3)
    )
    type(old).objects.filter(pk=old.pk).update(
        deadline=now - datetime.timedelta(days=2), delivery_date=today
    )
    if volunteer is not None:
        mine = [o.pk for o in orders if o.compound_id == compound.pk][:12]
        claimed = services.orders_claim(by=volunteer, orders=mine)
        for n, order in enumerate(claimed):
            if n < 6:
                order.code_hash = ""  # the demo skips the household's code
                Order.objects.filter(pk=order.pk).update(code_hash="")
                services.order_mark_delivered(
                    by=volunteer, order=order, how=rng.choice(["door", "hand", "gate"])
                )
            elif n < 8:
                services.order_mark_failed(by=volunteer, order=order, note="敲门无人应答")
    for n, order in enumerate(orders):
        if n % 3 == 0:
            services.order_record_payment(by=secretary, order=order, method="wechat")
        elif n % 7 == 1:
            services.order_record_payment(by=secretary, order=order, method="cash")
        elif n % 11 == 2:
            services.order_record_payment(by=secretary, order=order, method="free")
    if len(orders) > 14:
        # A household taken to quarantine: its last order not yet on its way is cancelled (an
        # order out for delivery comes back first, and ORDER refuses to cancel it there).
        cancellable = [
            o
            for o in Order.objects.filter(group_buy=old).order_by("-pk")
            if rules.ORDER.is_move(o.status, OrderStatus.CANCELLED)
        ]
        if cancellable:
            services.order_set_status(
                by=secretary, order=cancellable[0], to=OrderStatus.CANCELLED, note="住户已转运隔离"
            )
    return created


def _seed_today(rng, secretary, supplier, compounds, items, households) -> int:
    today = timezone.localdate()
    community = supplier.community
    created = 0
    # Today's buy, open for orders until tomorrow noon.
    deadline = aware(today + datetime.timedelta(days=1), datetime.time(12))
    running = services.group_buy_create(
        by=secretary,
        community=community,
        supplier=supplier,
        title=f"{today:%-m月%-d日}生活物资团购",
        compounds=compounds,
        deadline=deadline,
        delivery_date=timezone.localdate(deadline) + datetime.timedelta(days=1),
        items=[(item, None, None) for item in items],
    )
    running_items = list(running.items.all())
    for household in households[len(households) // 2 :][:12]:
        picks = rng.sample(running_items, 3)
        services.order_submit(
            by=secretary,
            household=household,
            group_buy=running,
            quantities={i.pk: rng.randrange(1, 4) for i in picks},
            client_key=_key(),
            phone=f"138{rng.randrange(10**8):08d}",
        )
        created += 1
    return created


def seed_supplies() -> int:
    """Returns the number of orders created."""
    rng = random.Random(2023)  # noqa: S311 - demo data
    _approve_texts()
    compound = (
        Compound.objects.filter(households__isnull=False).order_by("community_id", "pk").first()
    )
    if compound is None:
        return 0
    community = compound.community
    if Supplier.objects.filter(community=community, name=SUPPLIER).exists():
        return 0
    posting = (
        Posting.objects.filter(user__role=Role.SECRETARY, community=community)
        .select_related("user")
        .first()
    )
    secretary = posting.user if posting else User.objects.filter(is_superuser=True).first()
    if secretary is None:
        return 0
    compounds = list(
        Compound.objects.filter(community=community, households__isnull=False)
        .distinct()
        .order_by("pk")[:2]
    )
    supplier = services.supplier_save(
        by=secretary, community=community, name=SUPPLIER, contact="马经理", phone="13893100088"
    )
    items = [
        services.catalogue_item_save(by=secretary, supplier=supplier, name=n, unit=u, price=p)
        for n, u, p in CATALOGUE
    ]
    households = list(
        Household.objects.filter(compound__in=compounds)
        .select_related("building")
        .order_by("building__number", "unit", "room")[:40]
    )
    volunteer = next(
        (
            u
            for u in User.objects.filter(role=Role.VOLUNTEER, is_active=True).order_by("pk")
            if rules.may_deliver(u, compound.pk)
        ),
        None,
    )
    created = _seed_last_week(
        rng, secretary, supplier, compound, compounds, items, households, volunteer
    )
    created += _seed_today(rng, secretary, supplier, compounds, items, households)

    # The residents' ordering link of each compound in the buys.
    for c in compounds:
        services.order_link_get_or_create(by=secretary, compound=c)

    # An urgent proxy purchase: medicine for an elderly resident.
    if households:
        services.proxy_submit(
            by=secretary,
            household=households[-1],
            items="硝苯地平控释片 30mg × 2盒\n阿司匹林肠溶片 × 1盒",
            urgency="urgent",
            estimate=Decimal("86"),
            client_key=_key(),
            phone="13609310066",
        )
        created += 1
    return created
