"""The site as a whole (issue 19): compressed pages, the icon, the admin in Chinese, download
names."""

import gzip
import json
import re

import pytest
from django.urls import reverse

from medical.models import Hospital
from tests.factories import HospitalFactory, UserFactory
from wuyi.lib.downloads import content_disposition


def test_pages_and_static_files_are_served_gzipped(login, secretary_a, compound_a):
    client = login(secretary_a)
    page = client.get(reverse("compounds:list"), HTTP_ACCEPT_ENCODING="gzip, br")
    assert page["Content-Encoding"] == "gzip" and "Accept-Encoding" in page["Vary"]
    assert "小区".encode() in gzip.decompress(page.content)
    script = client.get("/static/js/htmx-2.0.11.min.js", HTTP_ACCEPT_ENCODING="gzip")
    assert script["Content-Encoding"] == "gzip"
    body = gzip.decompress(b"".join(script.streaming_content))
    assert len(body) > 40_000
    # A client that does not ask for it gets the plain page.
    assert "Content-Encoding" not in client.get(reverse("compounds:list"))


def test_the_icon_is_found(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO


@pytest.mark.parametrize(
    ("name", "fallback", "expected"),
    [
        (
            "对账-团购.xlsx",
            "group-buy-3.xlsx",
            """attachment; filename="group-buy-3.xlsx"; """
            """filename*=UTF-8''%E5%AF%B9%E8%B4%A6-%E5%9B%A2%E8%B4%AD.xlsx""",
        ),
        ("plain.xlsx", "plain.xlsx", 'attachment; filename="plain.xlsx"'),
        (
            'a"b/c\r\n.xlsx',
            'x"y.xlsx',
            """attachment; filename="x-y.xlsx"; filename*=UTF-8''a-b-c-.xlsx""",
        ),
    ],
)
def test_download_names(name, fallback, expected):
    assert content_disposition(name, fallback=fallback) == expected


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def test_the_hospital_form_ticks_services(login, root, district):
    hospital = HospitalFactory(name="市一院", districts=[district], services=["dialysis"])
    client = login(root)
    url = reverse("admin:medical_hospital_change", args=[hospital.pk])
    page = client.get(url).content.decode()
    assert '<textarea name="services"' not in page
    assert re.search(r'type="checkbox" name="services" value="dialysis"[^>]*checked', page)
    response = client.post(
        url,
        {
            "name": "市一院",
            "services": ["maternity", "dialysis"],
            "districts": [district.pk],
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert Hospital.objects.get(pk=hospital.pk).services == ["dialysis", "maternity"]


def test_the_admins_two_box_picker_speaks_chinese(login, root):
    catalogue = login(root).get("/admin/jsi18n/", HTTP_ACCEPT_LANGUAGE="zh-hans").content
    text = catalogue.decode()
    for chinese in ("全选%s", "选中左侧的%s，然后点击“选择”箭头。"):
        assert json.dumps(chinese)[1:-1] in text, chinese  # the catalogue escapes non-ASCII
