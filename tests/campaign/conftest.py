import pytest

from campaign import services
from campaign.models import ItemKind


@pytest.fixture
def checklist(district, district_staff):
    """The district's checklist: two manual items (one needing evidence) and the no-case rule."""
    cl = services.checklist_for(district=district, by=district_staff)
    group = services.group_add(checklist=cl, title="五步工作法（示例）", by=district_staff)
    evidence = services.item_add(
        group=group, text="全员排查", kind=ItemKind.MANUAL, needs_evidence=True, by=district_staff
    )
    plain = services.item_add(
        group=group,
        text="外来人员登记",
        kind=ItemKind.MANUAL,
        needs_evidence=False,
        by=district_staff,
    )
    measured = services.item_add(
        group=group,
        text="14天无新增",
        kind=ItemKind.NO_CASE,
        needs_evidence=False,
        by=district_staff,
    )
    return {"checklist": cl, "evidence": evidence, "plain": plain, "measured": measured}


@pytest.fixture
def eligible(compound_a, secretary_a, checklist):
    """Compound A with every manual item checked met (no case ever: the rule is met)."""
    services.check_record(
        compound_id=compound_a.pk,
        item_id=checklist["evidence"].pk,
        met=True,
        note="入户核查",
        by=secretary_a,
    )
    services.check_record(
        compound_id=compound_a.pk, item_id=checklist["plain"].pk, met=True, by=secretary_a
    )
    return compound_a
