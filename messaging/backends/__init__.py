"""SMS backends behind one interface (base.Backend), chosen by WUYI_SMS_BACKEND: console (the
embedded default), locmem (tests), http (a generic gateway), aliyun, tencent."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .base import Backend, BadSignature, Outgoing, Receipt, Result

__all__ = ["Backend", "BadSignature", "Outgoing", "Receipt", "Result", "get_backend"]

_cache: dict[str, Backend] = {}
_lock = threading.Lock()


def _options(name: str) -> dict:
    common = {"sign_name": settings.WUYI_SMS_SIGN_NAME, "timeout": settings.WUYI_SMS_TIMEOUT}
    if name == "http":
        return {
            **common,
            "url": settings.WUYI_SMS_HTTP_URL,
            "secret": settings.WUYI_SMS_HTTP_SECRET,
            "batch": settings.WUYI_SMS_HTTP_BATCH,
        }
    if name == "aliyun":
        return {
            **common,
            "access_key_id": settings.WUYI_SMS_ALIYUN_ACCESS_KEY_ID,
            "access_key_secret": settings.WUYI_SMS_ALIYUN_ACCESS_KEY_SECRET,
            "endpoint": settings.WUYI_SMS_ALIYUN_ENDPOINT,
            "protocol": settings.WUYI_SMS_PROVIDER_PROTOCOL,
            "receipt_token": settings.WUYI_SMS_RECEIPT_TOKEN,
        }
    if name == "tencent":
        return {
            **common,
            "secret_id": settings.WUYI_SMS_TENCENT_SECRET_ID,
            "secret_key": settings.WUYI_SMS_TENCENT_SECRET_KEY,
            "sdk_app_id": settings.WUYI_SMS_TENCENT_SDK_APP_ID,
            "region": settings.WUYI_SMS_TENCENT_REGION,
            "endpoint": settings.WUYI_SMS_TENCENT_ENDPOINT,
            "protocol": settings.WUYI_SMS_PROVIDER_PROTOCOL,
            "receipt_token": settings.WUYI_SMS_RECEIPT_TOKEN,
        }
    return common


def make_backend(name: str) -> Backend:
    if name == "console":
        from .simple import ConsoleBackend

        return ConsoleBackend(options=_options(name))
    if name == "locmem":
        from .simple import LocmemBackend

        return LocmemBackend(options=_options(name))
    if name == "http":
        from .http import HttpBackend

        return HttpBackend(options=_options(name))
    if name == "aliyun":
        from .aliyun import AliyunBackend

        return AliyunBackend(options=_options(name))
    if name == "tencent":
        from .tencent import TencentBackend

        return TencentBackend(options=_options(name))
    raise ValueError(f"unknown SMS backend {name!r} (WUYI_SMS_BACKEND)")


def get_backend(name: str | None = None) -> Backend:
    """The configured backend (or `name`), one instance per process (kept-alive connections)."""
    name = name or settings.WUYI_SMS_BACKEND
    with _lock:
        backend = _cache.get(name)
        if backend is None:
            backend = _cache[name] = make_backend(name)
        return backend


@receiver(setting_changed)
def _forget(setting: str, **kwargs) -> None:
    if setting.startswith("WUYI_SMS_"):
        _cache.clear()
