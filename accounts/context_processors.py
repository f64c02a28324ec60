"""The bell on every page: the signed-in user's unread alerts, counted when a page shows it."""

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from .models import Alert

SHOWN_MAX = 99  # "99+" beyond


class Bell:
    """Counted once, and only if the template asks (an htmx fragment that does not extend
    base.html costs nothing): one indexed COUNT over the user's unread alerts. No cache, so a
    page never shows a count an alert just read has made false."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def unread(self) -> int:
        return Alert.objects.filter(user_id=self.user.pk, read_at__isnull=True).count()

    @property
    def label(self) -> str:
        return f"{SHOWN_MAX}+" if self.unread > SHOWN_MAX else str(self.unread)


def bell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"bell": Bell(user)}
