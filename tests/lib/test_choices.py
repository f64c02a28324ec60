"""wuyi.lib.choices: a choice's label answers what get_FOO_display() answers."""

import pytest
from django.utils import translation

from residents.models import Category, Gender, Resident, VulnerableTag


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_label_as_django_gives_it(language):
    with translation.override(language):
        for value in [*Gender.values, "", "X"]:
            resident = Resident(gender=value)
            assert resident.gender_label == resident.get_gender_display(), value
        for value in [*Category.values, "retired_category"]:
            tag = VulnerableTag(category=value)
            assert tag.category_label == tag.get_category_display(), value


def test_in_chinese_by_default():
    assert Resident(gender="F").gender_label == "女"
    assert VulnerableTag(category="elderly_alone").category_label == "独居老人"
