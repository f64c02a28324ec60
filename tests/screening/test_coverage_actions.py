"""Coverage's two actions: text the missing (a messaging audience, the compose page opened with
it chosen) and the door-to-door list on paper."""

import datetime
import uuid

import pytest
import time_machine
from django.urls import reverse

from messaging import registry
from residents.models import VulnerableTag
from screening import services
from tests.factories import ResidentFactory
from wuyi.lib.errors import Refused

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
AUDIENCE = "screening.missing"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(compound_a, round6, volunteer, secretary_a):
    sampled, exempt, missing, bedridden = (
        ResidentFactory(compound=compound_a, name=name, phone=phone)
        for name, phone in [
            ("已检", "13893100001"),
            ("免检", "13893100002"),
            ("未检", "13893100003"),
            ("卧床", "13893100004"),
        ]
    )
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="GZ0001", by=volunteer
    )
    services.sample_add(tube_id=tube.pk, resident_id=sampled.pk, key=uuid.uuid4().hex, by=volunteer)
    services.exemption_set(
        round_id=round6.pk, resident_id=exempt.pk, reason="hospital", by=secretary_a
    )
    VulnerableTag.objects.create(resident=bedridden, category="bedridden")
    return {"sampled": sampled, "exempt": exempt, "missing": missing, "bedridden": bedridden}


def phones(user, values):
    _builder, audience = registry.build(AUDIENCE, user, values)
    return {phone for phone, _own in audience.rows}


def test_the_missing_audience_holds_only_the_missing(
    secretary_a, round6, compound_a, compound_b, people
):
    target = f"{round6.pk}:{compound_a.pk}"
    assert target in {t.value for t in registry.audience(AUDIENCE).targets(secretary_a)}
    assert phones(secretary_a, [target]) == {"13893100003", "13893100004"}


@pytest.mark.parametrize(
    "values",
    [["x"], ["1:"], ["99999:1"], ["1:2", "3:4"]],
)
def test_a_bad_target_is_refused(secretary_a, round6, values):
    with pytest.raises(Refused):
        registry.build(AUDIENCE, secretary_a, values)


def test_an_outsider_cannot_text_another_compound(secretary_b, volunteer, round6, compound_a):
    target = f"{round6.pk}:{compound_a.pk}"
    assert target not in {t.value for t in registry.audience(AUDIENCE).targets(secretary_b)}
    for user in (secretary_b, volunteer):
        with pytest.raises(Refused):
            registry.build(AUDIENCE, user, [target])


def test_one_action_opens_the_compose_page_with_the_missing_chosen(
    login, secretary_a, round6, compound_a, people
):
    client = login(secretary_a)
    page = client.get(reverse("screening:compound", args=[round6.pk, compound_a.pk])).content
    text = page.decode()
    assert 'id="text-missing"' in text and "2" in text
    link = text.split('id="text-missing" href="')[1].split('"')[0].replace("&amp;", "&")
    compose = client.get(link).content.decode()
    assert f'value="{AUDIENCE}" checked' in compose
    assert f'value="{round6.pk}:{compound_a.pk}" selected' in compose


def test_district_staff_get_no_text_action(login, district_staff, round6, compound_a, people):
    # District staff do not send campaigns: the page offers no link to a page they cannot use.
    page = login(district_staff).get(reverse("screening:compound", args=[round6.pk, compound_a.pk]))
    assert 'id="text-missing"' not in page.content.decode()


def test_the_door_to_door_list_prints(login, secretary_a, secretary_b, round6, compound_a, people):
    url = reverse("screening:door_list", args=[round6.pk, compound_a.pk])
    page = login(secretary_a).get(url).content.decode()
    assert "卧床" in page and "未检" not in page and "2026-12-03 10:00" in page
    assert login(secretary_b).get(url).status_code == 404
