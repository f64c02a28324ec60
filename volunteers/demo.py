"""Demo teams, party branches, volunteers and a week of shifts starting today. Idempotent: a
community that has teams is left as it is (shifts for the coming week are topped up)."""

import datetime
import random

from django.utils import timezone

from accounts.models import Role, User
from compounds.models import Community, Compound, ControlStatus, Posting
from messaging.models import SmsTemplate
from wuyi.lib.errors import Refused

from . import notify, services
from .models import Assignment, Shift, ShiftTemplate, Team, Volunteer

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华文玉红梅志国庆海燕春晓东"
TEAMS = [
    ("党员先锋队", "party_vanguard"),
    ("青年志愿服务队", "youth"),
    ("退役军人志愿服务队", "veteran"),
    ("机关下沉干部队", "cadre"),
]
TEMPLATES = [("门岗", 8, 12, 2), ("配送", 14, 18, 3), ("消杀", 9, 11, 1), ("夜间值守", 20, 23, 1)]


def seed_volunteers() -> int:
    """Returns the number of volunteers created."""
    rng = random.Random(1949)  # noqa: S311 - demo data
    secretaries = {
        p.community_id: p.user
        for p in Posting.objects.filter(
            user__role=Role.SECRETARY, community__isnull=False
        ).select_related("user")
    }
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    created = 0
    for community in Community.objects.order_by("code"):
        secretary = secretaries.get(community.pk, admin)
        if secretary is None:
            continue
        compounds = list(Compound.objects.filter(community=community).order_by("name"))
        if not Team.objects.filter(community=community).exists():
            created += _community(rng, secretary, community, compounds)
        _week(secretary, compounds)
    # The login link's text, approved as a provider would (the code is the demo's).
    SmsTemplate.objects.filter(name=notify.LOGIN_LINK, approved=False).update(
        code="SMS_270150300", approved=True
    )
    return created


def _community(rng, secretary, community, compounds) -> int:
    teams = [
        services.team_save(
            by=secretary,
            community=community,
            name=f"{community.name}{name}",
            kind=kind,
            compounds=compounds,
        )
        for name, kind in TEAMS
    ]
    volunteers = []
    for n in range(12):
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
        volunteer, _token = services.volunteer_create(
            by=secretary,
            community=community,
            name=name,
            phone=phone,
            teams=[teams[n % len(teams)]],
            is_party_member=n % len(teams) == 0 or rng.random() < 0.3,
            is_veteran=n % len(teams) == 2,
        )
        volunteers.append(volunteer)
    # The demo account "volunteer" (刘洋) serves 天庆丽舍 through the vanguard team.
    demo = User.objects.filter(username="volunteer").first()
    if demo is not None and compounds and any(c.name == "天庆丽舍" for c in compounds):
        volunteer, _ = Volunteer.objects.get_or_create(
            user=demo,
            defaults={"community": community, "name": demo.display_name, "phone": "13893100000"},
        )
        Posting.objects.filter(user=demo, via="").delete()  # from now on through the team
        tianqing = next(c for c in compounds if c.name == "天庆丽舍")
        vanguard = teams[0]
        services.team_save(
            by=secretary,
            community=community,
            name=vanguard.name,
            kind=vanguard.kind,
            compounds=[tianqing],
            leader=volunteer,
            team=vanguard,
        )
        volunteers.append(volunteer)
    for compound in compounds:
        if compound.status in (ControlStatus.SEALED, ControlStatus.CONTROLLED):
            services.branch_save(
                by=secretary,
                community=community,
                name=f"{compound.name}临时党支部",
                compound=compound,
                members=[v for v in volunteers if v.is_party_member][:6],
                secretary=next((v for v in volunteers if v.is_party_member), None),
                chat_group=f"{compound.name}临时党支部群",
            )
    services.branch_save(
        by=secretary,
        community=community,
        name=f"{community.name}网上临时党支部",
        online=True,
        chat_group=f"{community.name}党员志愿者群",
        members=[v for v in volunteers if v.is_party_member],
    )
    for compound in compounds:
        for name, start, end, needed in TEMPLATES:
            ShiftTemplate.objects.get_or_create(
                compound=compound,
                name=name,
                defaults={
                    "starts": datetime.time(start),
                    "ends": datetime.time(end),
                    "needed": needed,
                },
            )
    return len(volunteers)


def _week(secretary, compounds) -> None:
    """Shifts for the coming week, and people on them (each from a team serving there)."""
    today = timezone.localdate()
    templates = list(ShiftTemplate.objects.filter(compound__in=compounds))
    services.shifts_apply(
        by=secretary, templates=templates, first=today, last=today + datetime.timedelta(days=6)
    )
    week = (today, today + datetime.timedelta(days=6))
    # Who is busy when, so that the service is asked only for people it would take (it still
    # decides: a clash is refused there too). Half the demo's seeding time was refusals.
    busy: dict[int, list[tuple[datetime.datetime, datetime.datetime]]] = {}
    for volunteer_id, starts, ends in Assignment.objects.filter(
        shift__date__range=(week[0] - datetime.timedelta(days=1), week[1])
    ).values_list("volunteer_id", "shift__starts_at", "shift__ends_at"):
        busy.setdefault(volunteer_id, []).append((starts, ends))
    for shift in (
        Shift.objects.filter(compound__in=compounds, date__range=week)
        .select_related("compound", "template")
        .order_by("starts_at")
    ):
        if Assignment.objects.filter(shift=shift).exists():
            continue
        serving = (
            Volunteer.objects.filter(memberships__team__compounds=shift.compound_id)
            .distinct()
            .select_related("user")
            .order_by("pk")
        )
        placed = 0
        for volunteer in serving:
            if placed >= shift.needed:
                break
            if (
                volunteer.user.username == "volunteer"
                and shift.template
                and shift.template.name != "门岗"
            ):
                continue  # the demo volunteer: gate duty every morning, nothing that overlaps
            if any(
                starts < shift.ends_at and ends > shift.starts_at
                for starts, ends in busy.get(volunteer.pk, ())
            ):
                continue  # on another shift at that time: the next volunteer
            try:
                services.shift_assign(by=secretary, shift=shift, volunteer=volunteer)
            except Refused:
                continue
            busy.setdefault(volunteer.pk, []).append((shift.starts_at, shift.ends_at))
            placed += 1
