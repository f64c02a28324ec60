"""Realistic, deterministic resident data for the benches: names, ID numbers, phones, rooms.

Nothing here touches Django settings or the database, so it can be imported before setup.
"""

import datetime
import itertools
import random

# The commonest surnames, roughly in order of frequency, with a weight each (王 and 李 cover
# about 7% of people each, 张 about 6.5%).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤"
)
SURNAME_WEIGHTS = [max(1.0, 70.0 / (1 + i * 0.35)) for i in range(len(SURNAMES))]
_SURNAME_CUM = list(itertools.accumulate(SURNAME_WEIGHTS))
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "皇甫")
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏飞宇浩然子轩梓涵"
    "欣怡雨桐思远建国建华志强海燕春梅国庆文博佳琪一鸣晓东晓燕丹丹亮辉斌婷雪梅淑珍凤兰德胜永福"
)

# Lanzhou county codes for the import bench; the seed uses other prefectures so that the two
# benches never produce the same ID number.
IMPORT_AREAS = ("620102", "620103", "620104", "620105", "620111", "620121", "620122", "620123")
SEED_AREAS = ("620402", "620403", "620421", "620502", "620503", "620602", "620702", "620802")

RELATIONS_AFTER_HEAD = ("配偶", "子女", "子女", "父母", "孙子女", "兄弟姐妹", "其他")
NOTES = ("", "", "", "", "", "", "", "", "低保户", "需送药", "行动不便", "租户", "外地返兰")

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def check_char(body17: str) -> str:
    total = sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def make_id(area: str, born: datetime.date, serial: int, female: bool) -> str:
    """A valid ID number: `serial` (0..499) picks the sequence digits; the sex sets parity."""
    seq = serial % 500
    body = f"{area}{born:%Y%m%d}{seq // 5:02d}{2 * (seq % 5) + (0 if female else 1)}"
    return body + check_char(body)


def random_name(rng: random.Random) -> str:
    if rng.random() < 0.004:
        surname = rng.choice(COMPOUND_SURNAMES)
    else:
        surname = rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0]
    given = rng.choice(GIVEN_CHARS)
    if rng.random() < 0.7:
        given += rng.choice(GIVEN_CHARS)
    return surname + given


def random_mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def categories_for(rng: random.Random, age: int, female: bool) -> str:
    """The 特殊人群 cell: mostly empty, sometimes one or two categories matching the age."""
    roll = rng.random()
    if age >= 65:
        if roll < 0.10:
            return "独居老人"
        if roll < 0.18:
            return "老人、慢性病"
        if roll < 0.21:
            return "透析"
        if roll < 0.23:
            return "长期卧床"
        return ""
    if age <= 3 and roll < 0.5:
        return "婴幼儿"
    if female and 22 <= age <= 38 and roll < 0.05:
        return "孕产妇"
    if roll < 0.01:
        return "残疾人"
    if roll < 0.025:
        return "慢性病"
    return ""
