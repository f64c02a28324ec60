"""File names of downloads: in Chinese for the people who save them, with an ASCII name for
the clients that cannot read one (RFC 6266 with RFC 5987's ``filename*``).

Browsers that understand ``filename*`` (all current ones) save "团购对账-12月4日团购.xlsx";
an old client or a mail gateway falls back to the plain ``filename`` ("group-buy-3.xlsx").
"""

import re
from typing import TypeVar
from urllib.parse import quote

from django.http import HttpResponseBase

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]+")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


def content_disposition(filename: str, *, fallback: str) -> str:
    """The header value: `attachment; filename="<fallback>"; filename*=UTF-8''<filename>`.
    Characters a file system or the header would choke on are replaced by "-"."""
    name = _UNSAFE_NAME.sub("-", filename).strip(" .-") or fallback
    plain = _UNSAFE_ASCII.sub("-", fallback).strip("-.") or "download"
    value = f'attachment; filename="{plain}"'
    if name != plain:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


R = TypeVar("R", bound=HttpResponseBase)


def attach(response: R, filename: str, *, fallback: str) -> R:
    """Name the response's file (a FileResponse's own name is replaced) and keep it out of
    caches: every download of the app holds someone's data."""
    response["Content-Disposition"] = content_disposition(filename, fallback=fallback)
    response["Cache-Control"] = "no-store"
    return response
