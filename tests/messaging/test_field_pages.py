"""The compose page as a secretary reads it (issue 19): fields named by what they mean, and
the app's own texts kept out of campaigns."""

import pytest
from django.urls import reverse

from messaging import services
from messaging.models import Message, SmsTemplate
from messaging.registry import system_template_names
from wuyi.lib.errors import Refused


@pytest.fixture
def handover(db):
    found = SmsTemplate.objects.get(name="配送交接码")
    found.approved, found.code = True, "SMS_9"
    found.save()
    return found


def test_the_apps_own_texts_are_system_templates():
    assert {
        "配送交接码",
        "居民下单验证码",
        "志愿者登录链接",
        "转运接送通知",
    } <= system_template_names()


def test_system_templates_are_not_offered_for_campaigns(login, secretary_a, template, handover):
    page = login(secretary_a).get(reverse("messaging:compose")).content.decode()
    assert "核酸检测通知" in page and "配送交接码" not in page


def test_a_campaign_with_a_system_template_is_refused(
    secretary_a, compound_a, handover, residents_a
):
    with pytest.raises(Refused) as refused:
        services.campaign_create(
            by=secretary_a,
            template_id=handover.pk,
            variables={"order": "1", "code": "123456"},
            audience="residents.buildings",
            targets=[str(compound_a.buildings.get(number="1").pk)],
        )
    assert refused.value.field == "template" and "群发" in str(refused.value.message)
    assert not Message.objects.exists()


def test_fields_and_their_errors_say_what_they_are(login, secretary_a, compound_a, template):
    client = login(secretary_a)
    page = client.get(reverse("messaging:compose"), {"template": template.pk}).content.decode()
    assert "检测地点" in page and "检测轮次" in page
    b1 = compound_a.buildings.get(number="1")
    refused = client.post(
        reverse("messaging:compose"),
        {
            "template": template.pk,
            "audience": "residents.buildings",
            "t:residents.buildings": [str(b1.pk)],
            "var_gate": "",
            "var_round": "3",
            "action": "preview",
        },
    ).content.decode()
    assert "请填写“检测地点”" in refused and "请填写“gate”" not in refused


def test_the_buildings_are_offered_in_door_order_and_a_chosen_one_stays_chosen(
    login, secretary_a, compound_a, template
):
    """2号楼 before 10号楼, compound by compound; a link that chose a building (screening's
    "text the missing") opens the page with that one selected and no other."""
    from compounds.models import Building

    ten = Building.objects.create(compound=compound_a, number="10")
    two = compound_a.buildings.get(number="2")
    url = (
        reverse("messaging:compose")
        + f"?audience=residents.buildings&t:residents.buildings={ten.pk}"
    )
    page = login(secretary_a).get(url).content.decode()
    select = page.split('name="t:residents.buildings"', 1)[1].split("</select>", 1)[0]
    assert select.index(f'value="{two.pk}"') < select.index(f'value="{ten.pk}"')
    assert f'<option value="{ten.pk}" selected>' in select
    assert select.count(" selected>") == 1
    assert f"{compound_a.name} 10号楼" in select
