"""Demo households and residents for the Lanzhou compounds, with a vulnerable-person ledger.

Deterministic (a fixed random seed) and idempotent: a compound that already has households is
left as it is.
"""

import datetime
import random

from django.utils import timezone

from compounds.models import Compound
from wuyi.lib import cn

from .models import Category, Household, Resident, VulnerableTag

DEMO_COMPOUNDS = ["天庆丽舍", "云祥小区", "明仁花苑", "黄河家园", "东湖小区"]
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文玉兰红梅志强国庆海燕春梅晓东丹凤"


def _id(rng: random.Random, born: datetime.date, female: bool) -> str:
    serial = rng.randrange(0, 100)
    gender_digit = rng.choice([0, 2, 4, 6, 8]) if female else rng.choice([1, 3, 5, 7, 9])
    body = f"620102{born:%Y%m%d}{serial:02d}{gender_digit}"
    return body + cn.id_check_char(body)


def seed_residents() -> int:
    """Returns the number of residents created."""
    rng = random.Random(2026)  # noqa: S311 - demo data
    today = timezone.localdate()
    created = 0
    _approve_texts()
    for name in DEMO_COMPOUNDS:
        compound = Compound.objects.filter(name=name).first()
        if compound is None or compound.households.exists():
            continue
        for building in compound.buildings.order_by("id")[:4]:
            for unit in range(1, min(building.unit_count, 2) + 1):
                for floor in range(1, 4):
                    for door in (1, 2):
                        household = Household.objects.create(
                            compound=compound,
                            building=building,
                            unit=str(unit),
                            room=f"{floor}0{door}",
                        )
                        created += _household(rng, household, today)
    return created


def _approve_texts() -> None:
    # The household link's texts, approved as a provider would (the codes are the demo's).
    from messaging.models import SmsTemplate

    from . import notify

    for n, (name, body) in enumerate(notify.TEXTS.items()):
        template, _created = SmsTemplate.objects.get_or_create(
            name=name, defaults={"code": "", "body": body}
        )
        if not template.approved:
            SmsTemplate.objects.filter(pk=template.pk).update(
                code=f"SMS_27015060{n}", approved=True
            )


def _household(rng: random.Random, household: Household, today: datetime.date) -> int:
    surname = rng.choice(SURNAMES)
    size = rng.choice([1, 2, 2, 3, 3, 4])
    members = []
    for index in range(size):
        female = rng.random() < 0.5
        if index == 0:
            age = rng.randint(30, 88)
        elif index == 1:
            age = rng.randint(28, 85)
        else:
            age = rng.randint(0, 17)
        born = today - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
        resident = Resident(
            household=household,
            compound_id=household.compound_id,
            community_id=household.compound.community_id,
            name=surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2]))),
            relation=["户主", "配偶", "子女", "子女"][index],
            phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" if age >= 16 else "",
        )
        if rng.random() < 0.9:
            resident.set_national_id(_id(rng, born, female))
            resident.birth_date = cn.birth_date_from_id(resident.national_id)
            resident.gender = cn.gender_from_id(resident.national_id)
        else:
            resident.birth_date = born
            resident.gender = "F" if female else "M"
            resident.notes = "暂无身份证信息"
        resident.save()
        members.append((resident, age, female))
    for resident, age, female in members:
        _tags(rng, resident, age, female, size, today)
    return len(members)


def _tags(rng, resident, age, female, size, today) -> None:
    if age >= 70 and size == 1:
        VulnerableTag.objects.create(
            resident=resident, category=Category.ELDERLY_ALONE, details="子女在外地，每日电话问候"
        )
    elif age >= 75:
        VulnerableTag.objects.create(resident=resident, category=Category.ELDERLY)
    if age < 3:
        VulnerableTag.objects.create(resident=resident, category=Category.INFANT)
    if female and 24 <= age <= 38 and rng.random() < 0.12:
        VulnerableTag.objects.create(
            resident=resident,
            category=Category.PREGNANT,
            due_date=today + datetime.timedelta(days=rng.randint(10, 200)),
            details="定期产检：市妇幼保健院",
        )
    if age >= 45 and rng.random() < 0.06:
        VulnerableTag.objects.create(
            resident=resident,
            category=Category.CHRONIC,
            treatment="透析",
            schedule="每周一、三、五 上午8:00",
            details="甘肃省人民医院血液净化中心",
        )
    if rng.random() < 0.03:
        VulnerableTag.objects.create(
            resident=resident, category=Category.DISABLED, details="肢体残疾，需协助上下楼"
        )
