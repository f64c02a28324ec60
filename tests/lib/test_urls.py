"""wuyi.lib.urls: the row links, each pattern reversed once, answer what reverse() answers."""

from unittest import mock

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from wuyi.lib import urls
from wuyi.lib.urls import reverser


@pytest.mark.parametrize("pk", [0, 1, 7, 42, 100000, 7919000001])
def test_one_id_as_reverse(pk):
    assert reverser("residents:detail")(pk) == reverse("residents:detail", args=[pk])


def test_two_ids_in_their_places():
    sample = reverser("screening:sample", 2)
    assert sample(3, 17) == reverse("screening:sample", args=[3, 17])
    assert sample(17, 3) == reverse("screening:sample", args=[17, 3])


def test_what_is_not_an_id_is_reversed_as_reverse_does():
    detail = reverser("residents:detail")
    assert detail("12") == reverse("residents:detail", args=["12"])
    with pytest.raises(NoReverseMatch):
        detail(-1)
    with pytest.raises(NoReverseMatch):
        detail("x")
    with pytest.raises(NoReverseMatch):
        detail(1, 2)


def test_a_pattern_without_ids_and_an_unknown_name():
    assert reverser("residents:list", 0)() == reverse("residents:list")
    with pytest.raises(NoReverseMatch):
        reverser("residents:no-such-page")(1)


def test_the_tag_reverses_a_pattern_once_per_request():
    template = Template(
        "{% load links %}{% for pk in ids %}{% link 'residents:detail' pk %};{% endfor %}"
        "{% link 'screening:sample' 1 2 %}"
    )
    request = RequestFactory().get("/")
    with mock.patch.object(urls, "reverse", wraps=reverse) as spied:
        html = template.render(Context({"ids": [1, 2, 3], "request": request}))
        template.render(Context({"ids": [4], "request": request}))
    expected = "".join(f"{reverse('residents:detail', args=[pk])};" for pk in [1, 2, 3])
    assert html == expected + reverse("screening:sample", args=[1, 2])
    assert spied.call_count == 2  # residents:detail once, screening:sample once


def test_the_tag_without_a_request():
    html = Template("{% load links %}{% link 'residents:detail' 5 %}").render(Context({}))
    assert html == reverse("residents:detail", args=[5])
