"""The links of many rows, each URL pattern reversed once.

Django's `reverse()` (and `{% url %}`) matches the pattern's candidates again on every call:
about 0.1 ms each. A page of rows with two or three links each spent a fifth to a third of
its time there (the register, the volunteers list, 今日任务; profiled for issue 24).
`reverser(name)` reverses the pattern once with placeholder ids and returns a function that
fills ids in, so that the 50 rows of a page cost one reverse per kind of link:

    detail = reverser("residents:detail")
    links = [detail(r.pk) for r in residents]

In templates, `{% load links %}{% link "volunteers:team" m.team_id %}` does the same, the
reverser kept for the request (per URL configuration and language, as `reverse` depends on
them). Only non-negative integer ids take the shortcut; anything else (a string, a keyword,
a pattern that refuses the placeholders) is reversed as `reverse()` would, so the answer is
always `reverse()`'s.
"""

from collections.abc import Callable
from typing import Any

from django import template
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

# Ids no pattern holds literally, one per position.
_PLACEHOLDERS = (7_919_000_001, 7_919_000_002, 7_919_000_003, 7_919_000_004)


def reverser(name: str, count: int = 1) -> Callable[..., str]:
    """A function of `count` integer ids answering `reverse(name, args=ids)`, the pattern
    reversed once here."""

    def slow(*args: Any) -> str:
        return reverse(name, args=args)

    if not 1 <= count <= len(_PLACEHOLDERS):
        return slow
    marks = [str(p) for p in _PLACEHOLDERS[:count]]
    try:
        url = reverse(name, args=_PLACEHOLDERS[:count])
    except NoReverseMatch:
        return slow
    pieces: list[str] = []
    rest = url
    for mark in marks:
        head, found, rest = rest.partition(mark)
        if not found or mark in rest:
            return slow
        pieces.append(head)
    pieces.append(rest)

    def fast(*ids: Any) -> str:
        if len(ids) != count or any(type(i) is not int or i < 0 for i in ids):
            return slow(*ids)
        out = [pieces[0]]
        for i, piece in zip(ids, pieces[1:], strict=True):
            out += [str(i), piece]
        return "".join(out)

    return fast


# ----------------------------------------------------------------------------- the tag

register = template.Library()
_KEPT = "_wuyi_reversers"


@register.simple_tag(takes_context=True)
def link(context: template.Context, name: str, *ids: Any) -> str:
    """`{% link "app:name" id … %}`: `{% url %}` for rows, each pattern reversed once per
    request (and URL configuration, script prefix and language)."""
    request = context.get("request")
    kept: dict | None = getattr(request, _KEPT, None) if request is not None else None
    if kept is None:
        kept = {}
        if request is not None:
            setattr(request, _KEPT, kept)
    key = (name, len(ids), get_urlconf(), get_script_prefix(), get_language())
    url_of = kept.get(key)
    if url_of is None:
        url_of = kept[key] = reverser(name, len(ids))
    return url_of(*ids)
