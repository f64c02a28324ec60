"""Demo disinfection: a cleaning team per community, areas from the buildings of every sealed
and controlled compound, today's roster, and the morning's rounds done (a few late, a few
missed) with the medical-waste bins' log. Idempotent: what exists is left as it is."""

import datetime
import random

from django.utils import timezone

from accounts.models import Role, User
from compounds.models import Community, Compound, Posting
from messaging.models import SmsTemplate
from volunteers import services as volunteer_services
from volunteers.models import Team, TeamKind, Volunteer

from . import notify, rules, services
from .models import Area, AreaKind, CheckIn, Round, Timing, WasteRecord

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨"
GIVEN = "桂兰秀珍建华淑芬玉梅志强海燕国庆"


def seed_sanitation() -> int:
    """Returns the number of rounds created today."""
    rng = random.Random(2022)  # noqa: S311 - demo data
    now = timezone.now()
    today = timezone.localdate(now)
    secretaries = {
        p.community_id: p.user
        for p in Posting.objects.filter(
            user__role=Role.SECRETARY, community__isnull=False
        ).select_related("user")
    }
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    needing = list(
        Compound.objects.filter(status__in=rules.roster_statuses()).order_by("community", "name")
    )
    for community in Community.objects.filter(pk__in={c.community_id for c in needing}):
        by = secretaries.get(community.pk, admin)
        if by is None:
            continue
        compounds = [c for c in needing if c.community_id == community.pk]
        _cleaners(rng, by, community, compounds)
        for compound in compounds:
            services.areas_create_defaults(by=None, compound=compound)
    # The whole of today's roster, also the rounds whose window has passed: a demo shows a day.
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    result = services.rosters_generate(day=today, compounds=[c.pk for c in needing], now=start)
    _morning(rng, now, today)
    # The reminders' texts, approved as a provider would (codes are the demo's).
    for n, name in enumerate((notify.OVERDUE, notify.ESCALATED)):
        SmsTemplate.objects.filter(name=name, approved=False).update(
            code=f"SMS_27015010{n}", approved=True
        )
    _waste(rng, now, today, needing)
    return result.created


def _cleaners(rng, by, community: Community, compounds: list[Compound]) -> None:
    """A cleaning team serving the community's sealed and controlled compounds, with three
    cleaners; the demo volunteer (刘洋) joins it, so their 今日任务 shows rounds."""
    name = f"{community.name}保洁消杀队"
    team = Team.objects.filter(community=community, name=name).first()
    if team is not None:
        return
    team = volunteer_services.team_save(
        by=by, community=community, name=name, kind=TeamKind.CLEANING, compounds=compounds
    )
    for _n in range(3):
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        person = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        volunteer_services.volunteer_create(
            by=by, community=community, name=person, phone=phone, teams=[team]
        )
    demo = Volunteer.objects.filter(user__username="volunteer", community=community).first()
    if demo is not None:
        volunteer_services.team_add_member(by=by, team=team, volunteer=demo)


def _morning(rng, now: datetime.datetime, today: datetime.date) -> None:
    """Rounds whose window has passed: most done (a few late), some missed."""
    passed = Round.objects.filter(date=today, window_ends_at__lte=now, done_at__isnull=True)
    passed = passed.select_related("assignee__user")
    for r in passed:
        roll = rng.random()
        if roll < 0.12:
            continue  # missed: shows overdue
        late = roll < 0.2
        minutes = rng.randrange(65, 110) if late else rng.randrange(3, 50)
        r.done_at = r.due_at + datetime.timedelta(minutes=minutes)
        r.done_by = r.assignee.user if r.assignee else None
        r.timing = Timing.LATE if r.done_at > r.window_ends_at else Timing.ON_TIME
        r.check_in = CheckIn.QR
        r.save(update_fields=["done_at", "done_by", "timing", "check_in"])


def _waste(rng, now, today, compounds: list[Compound]) -> None:
    """Yesterday's bins all cleared; today's collected, half already handed over."""
    bins = Area.objects.filter(kind=AreaKind.MEDICAL_WASTE, compound__in=compounds)
    for day in (today - datetime.timedelta(days=1), today):
        for n, area in enumerate(bins.order_by("pk")):
            if WasteRecord.objects.filter(area=area, date=day).exists():
                continue
            cleared = day < today or n % 2 == 0
            handed = timezone.make_aware(datetime.datetime.combine(day, datetime.time(17, 40)))
            if handed > now:
                cleared = False
            WasteRecord.objects.create(
                area=area,
                compound_id=area.compound_id,
                date=day,
                bags=rng.randrange(1, 6),
                handed_to="兰州市医疗废物处置中心 马师傅" if cleared else "",
                handed_at=handed if cleared else None,
                cleared=cleared,
            )
