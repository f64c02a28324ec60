"""The compound page says what the compound needs and lacks, in a panel of its own (issue 16):
no disinfection areas, no medical worker or too few ambulances when sealed, a secretary who
cannot be texted."""

import pytest
from django.urls import reverse

from compounds.models import Compound, ControlStatus
from compounds.registry import compound_warnings
from sanitation.services import areas_create_defaults
from tests.factories import AmbulanceFactory, MedicalStaffFactory


@pytest.fixture
def sealed(compound_a):
    Compound.objects.filter(pk=compound_a.pk).update(status=ControlStatus.SEALED)
    compound_a.refresh_from_db()
    return compound_a


def page_of(client, compound) -> str:
    return client.get(reverse("compounds:detail", args=[compound.pk])).content.decode()


def test_a_newly_sealed_compound_says_everything_it_lacks(login, secretary_a, sealed):
    page = page_of(login(secretary_a), sealed)
    assert 'class="card warnings"' in page
    assert "没有消杀点位" in page and reverse("sanitation:areas", args=[sealed.pk]) in page
    assert "没有驻点医疗人员" in page
    assert "需要2辆专用救护车，目前只有0辆" in page
    assert "没有登记手机号" in page and secretary_a.display_name in page


def test_the_warnings_go_as_each_gap_is_filled(login, secretary_a, sealed):
    areas_create_defaults(by=secretary_a, compound=sealed)
    MedicalStaffFactory(compound=sealed, name="李医生")
    AmbulanceFactory(compound=sealed, plate="甘A00001")
    warnings = [w.text for w in compound_warnings(secretary_a, sealed)]
    assert not any("没有消杀点位" in w or "医疗人员" in w for w in warnings)
    assert any("目前只有1辆" in w for w in warnings)
    AmbulanceFactory(compound=sealed, plate="甘A00002")
    secretary_a.phone = "13893100099"
    secretary_a.save()
    assert compound_warnings(secretary_a, sealed) == []
    assert 'class="card warnings"' not in page_of(login(secretary_a), sealed)


def test_a_compound_at_normal_status_needs_no_cover(login, secretary_a, compound_a):
    secretary_a.phone = "13893100099"
    secretary_a.save()
    assert compound_warnings(secretary_a, compound_a) == []


def test_a_community_with_no_secretary_is_flagged(login, district_staff, sealed):
    page = page_of(login(district_staff), sealed)
    assert "没有社区书记" in page


def test_volunteers_do_not_get_the_panel_and_outsiders_get_404(
    login, volunteer, secretary_b, secretary_a, sealed
):
    assert 'class="card warnings"' not in page_of(login(volunteer), sealed)
    response = login(secretary_b).get(reverse("compounds:detail", args=[sealed.pk]))
    assert response.status_code == 404
