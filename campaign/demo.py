"""The campaign's part of seed_demo: an example checklist for 城关区 (clearly marked 示例, not
the district's official wording), compounds at every stage, one certified, one revoked after a
case, publicity records and the two texts. Safe to run again."""

import datetime

from django.utils import timezone

from accounts.models import User
from compounds.models import Community, Compound, District
from compounds.services import NewCase, compound_record_positive
from messaging.models import SmsTemplate

from . import services
from .models import (
    Certificate,
    Checklist,
    ChecklistItem,
    ItemKind,
    PublicityKind,
    PublicityRecord,
    TextKind,
)

EXAMPLE_GROUPS = [
    (
        "五步工作法（示例）",
        [
            ("全员排查、底数清楚（示例）", ItemKind.MANUAL, True),
            ("宣传到户、人人知晓（示例）", ItemKind.MANUAL, True),
        ],
    ),
    (
        "八个有（示例）",
        [
            ("连续14天无新增阳性（示例）", ItemKind.NO_CASE, False),
            ("近3轮核酸检测应检尽检（示例）", ItemKind.ROUNDS, False),
            ("特殊群体每日联系到人（示例）", ItemKind.VULNERABLE, False),
            ("每日消杀全覆盖（示例）", ItemKind.DISINFECTION, False),
            ("医疗废物日产日清（示例）", ItemKind.WASTE, False),
            ("有医护人员、有救护车（示例）", ItemKind.MEDICAL, False),
            ("生活物资及时配送（示例）", ItemKind.SUPPLIES, False),
        ],
    ),
    ("五个一律（示例）", [("外来人员一律登记（示例）", ItemKind.MANUAL, False)]),
]

TEXTS = {
    TextKind.CODE: (
        "居民守则（示例）",
        "一、配合核酸检测，不漏一人。\n二、非必要不外出，不聚集。\n三、科学佩戴口罩，勤洗手。\n"
        "四、如有发热、咳嗽等症状，及时报告社区。",
    ),
    TextKind.LETTER: (
        "创建无疫小区倡议书（示例）",
        "亲爱的居民朋友们：让我们携起手来，遵守防疫规定，配合社区工作，共同创建无疫小区！",
    ),
}

PUBLICITY = [
    (PublicityKind.BANNER, 12, "小区大门"),
    (PublicityKind.SCREEN, 3, "物业服务中心"),
    (PublicityKind.LOUDSPEAKER, 6, "各楼栋"),
    (PublicityKind.POSTER, 120, "单元门口"),
    (PublicityKind.HANDBOOK, 300, "入户发放"),
    (PublicityKind.VIDEO, 2, "居民微信群"),
    (PublicityKind.LETTER, 450, "入户发放"),
]


def _check_all(compound: Compound, by: User) -> None:
    for item in ChecklistItem.objects.current().filter(
        group__checklist__district_id=compound.district_id, kind=ItemKind.MANUAL
    ):
        services.check_record(
            compound_id=compound.pk, item_id=item.pk, met=True, note="已现场核查（示例）", by=by
        )


def seed_campaign() -> int:
    """Returns the number of certificates the district holds."""
    district = District.objects.filter(code="620102").first()
    staff = User.objects.filter(username="district").first()
    if district is None or staff is None:
        return 0
    # The texts' SMS, approved with a demo provider code (an operator enters the real one).
    SmsTemplate.objects.filter(name=services.TEXT_SMS, approved=False).update(
        code="SMS_270150400", approved=True
    )
    checklist = services.checklist_for(district=district, by=staff)
    if not checklist.groups.exists():
        for title, items in EXAMPLE_GROUPS:
            group = services.group_add(checklist=checklist, title=title, by=staff)
            for text, kind, evidence in items:
                services.item_add(
                    group=group, text=text, kind=kind, needs_evidence=evidence, by=staff
                )
    for text_kind, (title, body) in TEXTS.items():
        services.text_save(district=district, kind=text_kind, title=title, body=body, by=staff)
    today = timezone.localdate()
    if not PublicityRecord.objects.filter(community__subdistrict__district=district).exists():
        for n, community in enumerate(
            Community.objects.filter(subdistrict__district=district).order_by("code")
        ):
            for publicity_kind, count, place in PUBLICITY:
                services.publicity_record(
                    community_id=community.pk,
                    day=today - datetime.timedelta(days=n % 3),
                    kind=publicity_kind,
                    count=count + n,
                    place=place,
                    by=staff,
                )
    if not Certificate.objects.filter(compound__district=district).exists():
        by_name = {c.name: c for c in Compound.objects.filter(district=district)}
        # Certified, then revoked after a case: 民勤街小区.
        revoked = by_name.get("民勤街小区")
        certified = by_name.get("白银路小区")
        for compound in (revoked, certified, by_name.get("省政府家属院"), by_name.get("云祥小区")):
            if compound is not None:
                _check_all(compound, staff)
        for compound in (revoked, certified):
            if compound is not None:
                services.certificate_issue(compound_id=compound.pk, by=staff)
        if revoked is not None:
            compound_record_positive(
                compound_id=revoked.pk,
                case=NewCase(found_on=today, note="社会面筛查阳性1例（示例）"),
                by=staff,
            )
    Checklist.objects.filter(pk=checklist.pk).update(updated_at=timezone.now())
    return Certificate.objects.filter(compound__district=district).count()
