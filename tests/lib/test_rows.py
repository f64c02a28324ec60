"""The helpers of rows written out in Python (wuyi/lib/rows.py) against what the template
engine writes for the same values."""

from django.middleware.csrf import get_token
from django.template import Context, Template
from django.test import RequestFactory

from wuyi.lib.rows import csrf_input, e


def test_escaping_matches_autoescape():
    template = Template("{{ v }}")
    for value in ['<a href="x">&\'</a>', "3号楼", 7, "", "<script>"]:
        assert e(value) == template.render(Context({"v": value}))


def test_the_csrf_field_matches_the_tag_and_is_empty_without_a_token():
    request = RequestFactory().get("/")
    token = get_token(request)
    tag = Template("{% csrf_token %}").render(Context({"csrf_token": token}))
    assert csrf_input({"csrf_token": token}) == tag
    assert csrf_input({}) == "" and csrf_input({"csrf_token": "NOTPROVIDED"}) == ""
