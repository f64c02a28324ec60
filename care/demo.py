"""Demo care: each community checks its chronically ill every other day besides the elderly
living alone daily; today's welfare checks made, and the morning's first ones recorded (most
reached, one not, two needs for the secretary). Idempotent: what exists is left as it is."""

import datetime
import random

from django.db import transaction
from django.utils import timezone

from compounds.models import Community

from . import services
from .models import CarePlan, NeedKind, Outcome, WelfareCheck

MOODS = ["good", "good", "ok", "ok", "low"]
NEEDS = [
    (NeedKind.SUPPLIES, "降压药（硝苯地平）吃完了，请代买一盒"),
    (NeedKind.NOTE, "女儿在外地联系不上，老人很着急，请社区帮忙联系"),
    (NeedKind.ESCORT, "下周二需要去市一院复查"),
]


def seed_care() -> int:
    """Returns the number of welfare checks created today."""
    rng = random.Random(2022)  # noqa: S311 - demo data
    now = timezone.now()
    today = timezone.localdate(now)
    for community in Community.objects.all():
        CarePlan.objects.get_or_create(
            community=community, category="elderly_alone", defaults={"every_days": 1}
        )
        CarePlan.objects.get_or_create(
            community=community, category="chronic", defaults={"every_days": 2}
        )
    result = services.checks_generate(day=today, now=now)
    if not WelfareCheck.objects.filter(date=today).exclude(outcome=Outcome.OPEN).exists():
        _morning(rng, now, today)
    return result.created


def _morning(rng, now: datetime.datetime, today: datetime.date) -> None:
    """The first third of each volunteer's checks recorded this morning, as their volunteer."""
    checks = list(
        WelfareCheck.objects.filter(date=today, volunteer__isnull=False)
        .exclude(volunteer__user__username="volunteer")  # the demo volunteer's are left to do
        .select_related("volunteer__user", "compound")
        .order_by("pk")
    )
    needs = 0
    for n, check in enumerate(checks):
        if n % 3:
            continue
        outcome = (
            Outcome.NOT_REACHED if n % 15 == 0 else rng.choice([Outcome.PHONE, Outcome.VISITED])
        )
        if check.volunteer is None:  # filtered out above; for the type checker
            continue
        kind, text = NEEDS[needs % len(NEEDS)] if needs < 3 and n % 6 == 0 else ("", "")
        with transaction.atomic():
            services.check_record(
                by=check.volunteer.user,
                check=check,
                outcome=outcome,
                mood=rng.choice(MOODS) if outcome != Outcome.NOT_REACHED else "",
                need_kind=kind,
                need_text=text,
                now=now,
            )
        needs += bool(text)
