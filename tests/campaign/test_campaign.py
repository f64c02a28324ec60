import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Alert, Role
from campaign import rules, selectors, services
from campaign.models import (
    Certificate,
    CertificateStatus,
    Check,
    ItemKind,
    PublicityRecord,
)
from compounds.models import Compound, ControlStatus
from compounds.services import NewCase, compound_change_status, compound_record_positive
from tests.factories import (
    CommunityFactory,
    CompoundFactory,
    DistrictFactory,
    SubdistrictFactory,
    UserFactory,
)
from wuyi.lib.errors import Refused

pytestmark = pytest.mark.django_db


# ----------------------------------------------------------------------------- the graph


def test_certificate_graph_walk(district_staff, secretary_a):
    assert list(rules.CERTIFICATE.moves()) == [("valid", "revoked")]
    for current, target in rules.CERTIFICATE.refused():
        with pytest.raises(Refused):
            rules.CERTIFICATE.check(current, target, by=district_staff)
    rules.CERTIFICATE.check("valid", "revoked", by=district_staff)
    rules.CERTIFICATE.check("valid", "revoked", by=None)  # the system
    with pytest.raises(PermissionDenied):
        rules.CERTIFICATE.check("valid", "revoked", by=secretary_a)


# ----------------------------------------------------------------------------- checks


def test_a_checked_item_needing_evidence_is_refused_without_it(compound_a, secretary_a, checklist):
    with pytest.raises(Refused) as refused:
        services.check_record(
            compound_id=compound_a.pk,
            item_id=checklist["evidence"].pk,
            met=True,
            note="  ",
            by=secretary_a,
        )
    assert refused.value.field == "note"
    assert not Check.objects.exists()
    # Not met needs no evidence; an item without the rule neither.
    services.check_record(
        compound_id=compound_a.pk, item_id=checklist["evidence"].pk, met=False, by=secretary_a
    )
    services.check_record(
        compound_id=compound_a.pk, item_id=checklist["plain"].pk, met=True, by=secretary_a
    )
    assert Check.objects.count() == 2


def test_measured_items_are_not_checked_by_hand(compound_a, secretary_a, checklist):
    with pytest.raises(Refused):
        services.check_record(
            compound_id=compound_a.pk,
            item_id=checklist["measured"].pk,
            met=True,
            note="x",
            by=secretary_a,
        )
    assert not Check.objects.exists()


def test_checks_stay_in_their_jurisdiction(compound_a, secretary_b, volunteer, checklist):
    with pytest.raises(Compound.DoesNotExist):
        services.check_record(
            compound_id=compound_a.pk, item_id=checklist["plain"].pk, met=True, by=secretary_b
        )
    with pytest.raises(PermissionDenied):
        services.check_record(
            compound_id=compound_a.pk, item_id=checklist["plain"].pk, met=True, by=volunteer
        )
    assert not Check.objects.exists()


def test_editing_an_item_mid_assessment_keeps_the_item_checked(
    compound_a, secretary_a, district_staff, checklist
):
    item = checklist["evidence"]
    check = services.check_record(
        compound_id=compound_a.pk, item_id=item.pk, met=True, note="入户核查", by=secretary_a
    )
    new = services.item_edit(
        item=item, text="全员排查、底数清楚", needs_evidence=True, by=district_staff
    )
    assert new.pk != item.pk
    check.refresh_from_db()
    item.refresh_from_db()
    assert check.item_id == item.pk and item.text == "全员排查"  # unchanged
    assert item.retired_at is not None and item.replaced_by_id == new.pk
    # The compound checks the new wording afresh; the old item is refused.
    evaluation = selectors.evaluate_one(compound_a)
    texts = {r.item.text: r.met for r in evaluation.items}
    assert texts["全员排查、底数清楚"] is False and "全员排查" not in texts
    with pytest.raises(Refused):
        services.check_record(
            compound_id=compound_a.pk, item_id=item.pk, met=True, note="x", by=secretary_a
        )
    # An item never checked is edited in place.
    plain = checklist["plain"]
    same = services.item_edit(
        item=plain, text="外来人员一律登记", needs_evidence=False, by=district_staff
    )
    assert same.pk == plain.pk


def test_only_district_staff_edit_the_checklist(secretary_a, checklist):
    with pytest.raises(PermissionDenied):
        services.item_edit(item=checklist["plain"], text="x", needs_evidence=False, by=secretary_a)
    with pytest.raises(PermissionDenied):
        services.group_add(checklist=checklist["checklist"], title="x", by=secretary_a)


def test_no_case_days_are_bounded(district_staff, checklist):
    for bad in (0, 61, "x", None):
        with pytest.raises(Refused):
            services.checklist_set_days(
                checklist=checklist["checklist"], no_case_days=bad, by=district_staff
            )
    services.checklist_set_days(checklist=checklist["checklist"], no_case_days=7, by=district_staff)
    assert selectors.no_case_days(checklist["checklist"].district_id) == 7


# ----------------------------------------------------------------------------- certifying


def test_an_ineligible_compound_is_refused_with_its_failing_items(
    compound_a, district_staff, checklist
):
    with pytest.raises(Refused) as refused:
        services.certificate_issue(compound_id=compound_a.pk, by=district_staff)
    assert "全员排查" in str(refused.value) and "外来人员登记" in str(refused.value)
    assert "14天无新增" not in str(refused.value)
    assert not Certificate.objects.exists()


def test_a_recent_case_holds_it_back_and_the_badge_counts_the_days(
    eligible, district_staff, secretary_a
):
    Compound.objects.filter(pk=eligible.pk).update(
        last_positive_on=timezone.localdate() - datetime.timedelta(days=10)
    )
    eligible.refresh_from_db()
    evaluation = selectors.evaluate_one(eligible)
    assert not evaluation.eligible and evaluation.days_to_eligible == 4
    assert evaluation.badge[0] == "4天后达标"
    assert "14天无新增" in evaluation.why_not
    with pytest.raises(Refused):
        services.certificate_issue(compound_id=eligible.pk, by=district_staff)


def test_secretary_and_outsiders_cannot_certify(eligible, secretary_a):
    with pytest.raises(PermissionDenied):
        services.certificate_issue(compound_id=eligible.pk, by=secretary_a)
    elsewhere = DistrictFactory(code="620103", name="七里河区")
    other_staff = UserFactory(role=Role.DISTRICT_STAFF, posted_to=elsewhere)
    with pytest.raises(Compound.DoesNotExist):
        services.certificate_issue(compound_id=eligible.pk, by=other_staff)
    assert not Certificate.objects.exists()


def test_certifying_records_who_when_and_the_figures(eligible, district_staff, secretary_a):
    cert = services.certificate_issue(compound_id=eligible.pk, by=district_staff)
    assert cert.status == CertificateStatus.VALID and cert.certified_by == district_staff
    figures = {f["item"]: f for f in cert.figures}
    assert figures["全员排查"]["met"] and figures["全员排查"]["figure"] == "入户核查"
    assert figures["全员排查"]["checked_by"] == secretary_a.display_name
    assert cert.assessment.closed_at is not None
    # A double submit returns the same certificate.
    assert services.certificate_issue(compound_id=eligible.pk, by=district_staff) == cert
    evaluation = selectors.evaluate_one(eligible)
    assert evaluation.stage == "certified" and evaluation.badge[1] == "ok"


def test_a_certified_compound_names_only_what_lapsed_since(eligible, district_staff):
    """The checks close with the certificate: a certified compound is not "not yet eligible"
    for want of them; a measured item that lapsed since is named as such."""
    services.certificate_issue(compound_id=eligible.pk, by=district_staff)
    evaluation = selectors.evaluate_one(eligible)
    assert evaluation.why_not == "" and evaluation.stage == "certified"
    Compound.objects.filter(pk=eligible.pk).update(
        last_positive_on=timezone.localdate() - datetime.timedelta(days=3)
    )
    eligible.refresh_from_db()
    line = selectors.evaluate_one(eligible).why_not
    assert line.startswith("已认证") and "14天无新增" in line
    assert "全员排查" not in line and "尚未达标" not in line


# ----------------------------------------------------------------------------- revocation


def test_a_status_rise_revokes_in_the_same_transaction_and_tells_the_district(
    eligible, district_staff, secretary_a
):
    cert = services.certificate_issue(compound_id=eligible.pk, by=district_staff)
    compound_change_status(
        compound_id=eligible.pk, to_status=ControlStatus.SEALED, reason="发现阳性", by=secretary_a
    )
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.REVOKED and cert.revoked_by is None
    assert "发现阳性" in cert.revoke_reason
    alert = Alert.objects.get(user=district_staff)
    assert cert.number in alert.text and alert.link == f"/campaign/compounds/{eligible.pk}/"
    evaluation = selectors.evaluate_one(eligible)
    assert evaluation.certificate is None and evaluation.revoked == cert


def test_a_status_step_down_keeps_the_certificate(
    compound_a, eligible, district_staff, secretary_a
):
    compound_change_status(
        compound_id=compound_a.pk, to_status="precautionary", reason="毗邻", by=secretary_a
    )
    cert = services.certificate_issue(compound_id=compound_a.pk, by=district_staff)
    compound_change_status(
        compound_id=compound_a.pk, to_status="normal", reason="解除", by=secretary_a
    )
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID


def test_a_case_revokes_and_a_rolled_back_change_revokes_nothing(
    eligible, district_staff, secretary_a
):
    cert = services.certificate_issue(compound_id=eligible.pk, by=district_staff)
    # The same status again is refused: the case recorded with it is rolled back, and so is
    # the revocation.
    with pytest.raises(Refused):
        compound_change_status(
            compound_id=eligible.pk,
            to_status="normal",
            reason="x",
            by=secretary_a,
            new_case=NewCase(found_on=timezone.localdate()),
        )
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID
    compound_record_positive(
        compound_id=eligible.pk, case=NewCase(found_on=timezone.localdate()), by=secretary_a
    )
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.REVOKED
    assert timezone.localdate().isoformat() in cert.revoke_reason


def test_verification_page_is_public_and_404_once_revoked(
    client, eligible, district_staff, secretary_a
):
    cert = services.certificate_issue(compound_id=eligible.pk, by=district_staff)
    response = client.get(f"/campaign/v/{cert.token}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert eligible.name in body and cert.number in body
    assert secretary_a.display_name not in body and district_staff.display_name not in body
    assert client.get("/campaign/v/unknown-token/").status_code == 404
    assert client.get(f"/campaign/v/{cert.pk}/").status_code == 404
    services.certificate_revoke(certificate_id=cert.pk, reason="复查不合格", by=district_staff)
    assert client.get(f"/campaign/v/{cert.token}/").status_code == 404


def test_only_district_staff_revoke_by_hand(eligible, district_staff, secretary_a):
    cert = services.certificate_issue(compound_id=eligible.pk, by=district_staff)
    with pytest.raises(PermissionDenied):
        services.certificate_revoke(certificate_id=cert.pk, reason="x", by=secretary_a)
    with pytest.raises(Refused):
        services.certificate_revoke(certificate_id=cert.pk, reason=" ", by=district_staff)
    services.certificate_revoke(certificate_id=cert.pk, reason="复查", by=district_staff)
    with pytest.raises(Refused):  # revoked is final
        services.certificate_revoke(certificate_id=cert.pk, reason="again", by=district_staff)


# ----------------------------------------------------------------------------- publicity


@pytest.mark.parametrize(
    ("count", "field"),
    [(-5, "count"), (0, "count"), (1_000_001, "count"), (2.5, "count"), (True, "count")],
)
def test_publicity_counts_negative_or_absurd_are_refused(community_a, secretary_a, count, field):
    with pytest.raises(Refused) as refused:
        services.publicity_record(
            community_id=community_a.pk,
            day=timezone.localdate(),
            kind="banner",
            count=count,
            place="大门",
            by=secretary_a,
        )
    assert refused.value.field == field
    assert not PublicityRecord.objects.exists()


def test_publicity_day_total_is_bounded_and_the_future_refused(community_a, secretary_a):
    today = timezone.localdate()
    services.publicity_record(
        community_id=community_a.pk,
        day=today,
        kind="poster",
        count=999_999,
        place="各楼",
        by=secretary_a,
    )
    with pytest.raises(Refused):
        services.publicity_record(
            community_id=community_a.pk,
            day=today,
            kind="poster",
            count=2,
            place="各楼",
            by=secretary_a,
        )
    with pytest.raises(Refused) as refused:
        services.publicity_record(
            community_id=community_a.pk,
            day=today + datetime.timedelta(days=1),
            kind="poster",
            count=2,
            place="各楼",
            by=secretary_a,
        )
    assert refused.value.field == "day"
    with pytest.raises(Refused):
        services.publicity_record(
            community_id=community_a.pk,
            day=today,
            kind="fireworks",
            count=2,
            place="x",
            by=secretary_a,
        )
    assert PublicityRecord.objects.count() == 1


def test_publicity_outside_ones_reach_or_by_a_volunteer(community_a, secretary_b, volunteer):
    with pytest.raises(Exception) as raised:
        services.publicity_record(
            community_id=community_a.pk,
            day=timezone.localdate(),
            kind="banner",
            count=1,
            place="x",
            by=secretary_b,
        )
    assert raised.type.__name__ == "DoesNotExist"
    with pytest.raises(PermissionDenied):
        services.publicity_record(
            community_id=community_a.pk,
            day=timezone.localdate(),
            kind="banner",
            count=1,
            place="x",
            by=volunteer,
        )


def test_publicity_summed_per_subdistrict_and_district(
    community_a, community_b, secretary_a, secretary_b, district_staff, district
):
    today = timezone.localdate()
    for user, community, n in ((secretary_a, community_a, 3), (secretary_b, community_b, 4)):
        services.publicity_record(
            community_id=community.pk, day=today, kind="banner", count=n, place="大门", by=user
        )
    other_sub = SubdistrictFactory(district=district, code="620102009", name="雁南街道")
    other = CommunityFactory(subdistrict=other_sub, code="620102009001", name="雁南社区")
    services.publicity_record(
        community_id=other.pk, day=today, kind="banner", count=10, place="x", by=district_staff
    )
    subs, districts, total = selectors.publicity_totals(user=district_staff, start=today, end=today)
    by_name = {row.place.name: row.counts["banner"] for row in subs}
    assert by_name == {"团结新村街道": 7, "雁南街道": 10}
    assert [row.counts["banner"] for row in districts] == [17]
    assert total.counts["banner"] == 17
    # A secretary sums only her own community.
    _subs, _d, mine = selectors.publicity_totals(user=secretary_a, start=today, end=today)
    assert mine.counts["banner"] == 3


# ----------------------------------------------------------------------------- progress


def test_progress_counts_stages_and_blocking_items(eligible, compound_b, district_staff, checklist):
    data = selectors.progress(user=district_staff)
    stages = {key: n for key, _label, n in data.stages}
    assert stages["eligible"] == 1 and stages["improving"] == 1
    blocking = {item.text: n for item, n in data.blocking}
    assert blocking == {"全员排查": 1, "外来人员登记": 1}
    drilled = selectors.progress(user=district_staff, item_id=checklist["plain"].pk)
    assert [ev.compound for ev in drilled.rows] == [compound_b]
    assert [
        ev.compound for ev in selectors.progress(user=district_staff, stage="eligible").rows
    ] == [eligible]


def _queries(func) -> int:
    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries)


def test_evaluation_takes_the_same_queries_for_3_and_30_compounds(
    community_a, district_staff, checklist
):
    for kind in [k for k in ItemKind.values if k != ItemKind.MANUAL]:
        services.item_add(
            group=checklist["plain"].group,
            text=kind,
            kind=kind,
            needs_evidence=False,
            by=district_staff,
        )
    compounds = [CompoundFactory(community=community_a) for _ in range(3)]
    few = _queries(lambda: selectors.evaluate(compounds))
    compounds += [CompoundFactory(community=community_a) for _ in range(27)]
    many = _queries(lambda: selectors.evaluate(compounds))
    assert few == many
    selectors.progress(user=district_staff)  # the user's postings, read once
    before = _queries(lambda: selectors.progress(user=district_staff))
    for _ in range(20):
        CompoundFactory(community=community_a)
    assert _queries(lambda: selectors.progress(user=district_staff)) == before


# ----------------------------------------------------------------------------- command


def test_campaign_check_command(capsys, compound_a, eligible, secretary_a, checklist):
    call_command("campaign_check", compound_a.code)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "eligible"
    services.check_record(
        compound_id=compound_a.pk, item_id=checklist["plain"].pk, met=False, by=secretary_a
    )
    call_command("campaign_check", compound_a.code)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "not eligible: 外来人员登记"
    assert any(line.startswith("[NOT MET] 外来人员登记") for line in lines)
