"""Addresses that leave the screen: printed QR codes and links sent by SMS.

A page's own address is the one the secretary browsed (often http://127.0.0.1:8000 on the
committee's desktop), which a resident's phone cannot open. Settings name the address the
compound reaches the app at (WUYI_PUBLIC_URL, e.g. https://wuyi.example.gov.cn); without it
the browsed address is used, and the pages that print one say so while it is a local one.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", ""}  # noqa: S104 - a name to match


def public_url(request: HttpRequest, path: str) -> str:
    """`path` (starting with /) under the public address, else under the browsed one."""
    base = str(getattr(settings, "WUYI_PUBLIC_URL", "") or "").rstrip("/")
    if base:
        return base + path
    return request.build_absolute_uri(path)


def is_local(url: str) -> bool:
    """True for an address only this machine can open (127.0.0.1, localhost)."""
    host = urlsplit(url).hostname or ""
    return host in LOCAL_HOSTS or host.endswith(".localhost")
