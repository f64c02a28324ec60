"""Writes on accounts that are more than a form save."""

import datetime
import functools
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from axes.models import AccessLog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from wuyi.lib import pgcopy

from .models import Alert, Severity, User


def access_logs_purge(*, older_than_days: int) -> int:
    """Delete login records (user name, address, browser) older than the given age.

    They are personal data kept only to investigate break-in attempts. Returns the count.
    """
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    deleted, _ = AccessLog.objects.filter(attempt_time__lt=cutoff).delete()
    pgcopy.analyze_after_delete({AccessLog: deleted})
    return deleted


# ----------------------------------------------------------------------------- in-app alerts

P = ParamSpec("P")
R = TypeVar("R")


def in_site_language(func: Callable[P, R]) -> Callable[P, R]:
    """An alert's text is written once, for whoever reads it later: compose it in the site's
    language (LANGUAGE_CODE, zh-hans), not in that of the request that raised it (a volunteer
    browsing in English marks a delivery failed; the secretary reads Chinese)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with translation.override(settings.LANGUAGE_CODE):
            return func(*args, **kwargs)

    return wrapper


TEXT_MAX = Alert._meta.get_field("text").max_length or 300
KEY_MAX = Alert._meta.get_field("key").max_length or 120


def _fit(text: Any, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_raise(
    *,
    to: User,
    text: Any,
    key: str,
    link: str = "",
    severity: str = Severity.WARNING,
    about: User | None = None,
) -> Alert:
    """An alert under the user's bell (the in-app channel, nothing else). The same key for the
    same user returns the first alert and adds nothing: a sweep run twice, a retried task or a
    double submit raise one alert. Written in the caller's transaction, so an alert of work
    that is rolled back is rolled back with it. A link is a path inside the site."""
    if not key:
        raise ValueError("alert_raise needs a key")
    if severity not in Severity.values:
        raise ValueError(f"unknown severity {severity!r}")
    if link and not link.startswith("/"):
        raise ValueError("an alert links inside the site")
    key = key[:KEY_MAX]
    found = Alert.objects.filter(user=to, key=key).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Alert.objects.create(
                user=to,
                key=key,
                text=_fit(text, TEXT_MAX),
                link=link[:300],
                severity=severity,
                about=about,
            )
    except IntegrityError:
        # The same alert, raised by a concurrent call between our check and our insert.
        return Alert.objects.get(user=to, key=key)


def alerts_raise(
    *, to: Iterable[User], text: Any, key: str, link: str = "", severity: str = Severity.WARNING
) -> list[Alert]:
    """The same alert to several users (each once)."""
    return [
        alert_raise(to=user, text=text, key=key, link=link, severity=severity)
        for user in {u.pk: u for u in to}.values()
    ]


def alerts_mark_read(*, by: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's own alerts read (the given ones, or all). Another user's id changes
    nothing. Returns how many were unread."""
    alerts = Alert.objects.visible_to(by).unread()
    if ids is not None:
        alerts = alerts.filter(pk__in=list(ids))
    return alerts.update(read_at=timezone.now())
