"""Demo SMS: the approved templates a city would have, a budget for each community, and one
campaign already sent, with its results (most delivered, a few failed and why). Idempotent."""

from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from compounds.models import Building, Community
from wuyi.lib.errors import Refused

from . import services
from .models import Budget, Message, Recipient, SmsTemplate

TEMPLATES = [
    (
        "核酸检测通知",
        "SMS_270150001",
        "明日8:00在{gate}开展第{round}轮核酸检测，请携带身份证按时参加。",
        True,
    ),
    (
        "物资配送通知",
        "SMS_270150002",
        "您的{goods}已由志愿者送到门口，请于{time}前开门取回。",
        True,
    ),
    (
        "居家隔离提醒",
        "SMS_270150003",
        "您的居家隔离期至{date}结束，请每日两次测量体温，如有不适请联系社区。",
        True,
    ),
    ("疫苗接种通知", "SMS_270150005", "{date}在{place}开展疫苗接种，请携带身份证。", False),
]
DEMO_KEY = "demo:campaign:tianqing-1"
FAILURES = ["空号", "用户关机", "停机"]


def seed_messaging() -> int:
    """Returns the number of demo SMS recipients created."""
    for name, code, body, approved in TEMPLATES:
        SmsTemplate.objects.get_or_create(
            name=name, defaults={"code": code, "body": body, "approved": approved}
        )
    for community in Community.objects.all():
        Budget.objects.get_or_create(
            community=community,
            defaults={"monthly_amount": Decimal("2000"), "note": "区财政防疫专项"},
        )
    if Message.objects.filter(idempotency_key=DEMO_KEY).exists():
        return 0
    secretary = User.objects.filter(username="secretary").first()
    building = Building.objects.filter(compound__name="天庆丽舍").order_by("number").first()
    if secretary is None or building is None:
        return 0
    try:
        message = services.campaign_create(
            by=secretary,
            template_id=SmsTemplate.objects.get(name="核酸检测通知").pk,
            variables={"gate": "东门", "round": "3"},
            audience="residents.buildings",
            targets=[str(building.pk)],
            idempotency_key=DEMO_KEY,
        )
    except Refused:
        return 0
    # What the provider answered: as if it went out this morning.
    now = timezone.now()
    rows = list(Recipient.objects.filter(message=message).order_by("id"))
    for n, recipient in enumerate(rows):
        recipient.attempts = 1
        recipient.provider = "console"
        recipient.provider_id = f"demo-{recipient.pk}"
        recipient.sent_at = now
        if n % 9 == 4:
            recipient.status = Recipient.Status.FAILED
            recipient.last_error = FAILURES[n % len(FAILURES)]
        elif n % 9 == 7:
            recipient.status = Recipient.Status.SENT
        else:
            recipient.status = Recipient.Status.DELIVERED
            recipient.delivered_at = now
    Recipient.objects.bulk_update(
        rows,
        ["status", "attempts", "provider", "provider_id", "sent_at", "delivered_at", "last_error"],
    )
    return len(rows)
