"""Delivering an alert to a person: by SMS when they have a mobile number, always in the app,
and to the level above when the SMS cannot reach them. No alert is dropped silently.

Where the pieces live (the floors of DESIGN.md): an alert is addressed to a user, so the
model, the in-app raise, the bell and the list live with the users (accounts, floor 0), where
every app, the place tree included, can raise one. Who stands one level above a person is the
place tree's knowledge (compounds.selectors.staff_above, floor 1). Sending an SMS is this
app's (floor 2), so the delivery that combines the three lives here; the apps above call it
from their notify.py with their own SMS (template, variables, idempotency key).

    alert_deliver(to=secretary, text=..., key=..., link=..., compound_id=...,
                  sms=lambda phone: notify.rounds_escalated(phone, ...))

Nothing here waits on the provider: the SMS is a row in the outbox (send_sms), the alerts are
rows in the caller's transaction, so a rolled-back sweep takes its alerts back with it.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Severity, User
from accounts.services import alert_raise
from compounds.selectors import staff_above, staff_of

log = logging.getLogger(__name__)

# sms(phone) -> True when the SMS was queued (the app's notify function, idempotent by key).
SmsSender = Callable[[str], bool]


@dataclass
class Delivery:
    texted: bool = False
    in_app: int = 0
    forwarded_to: list[User] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        return self.texted or bool(self.forwarded_to)


def alert_deliver(
    *,
    to: User,
    text: Any,
    key: str,
    link: str = "",
    severity: str = Severity.WARNING,
    phone: str | None = None,
    sms: SmsSender | None = None,
    compound_id: int | None = None,
    forward: bool = True,
) -> Delivery:
    """Deliver an alert to one person.

    Always in the app (under their bell). With `sms`, also by SMS to `phone` (the user's own
    number when not given): when they have no number, or the SMS could not be queued (its
    template not approved, the number refused), the alert goes in the app to the staff one
    level above them (for `compound_id`, the compound it concerns), saying whom it was meant
    for. Idempotent by `key`: the SMS by its own key, each alert by (user, key)."""
    number = to.phone if phone is None else phone
    delivery = Delivery()
    if sms is not None and number:
        delivery.texted = bool(sms(number))
    alert_raise(to=to, text=text, key=key, link=link, severity=severity)
    delivery.in_app = 1
    if sms is None or delivery.texted:
        return delivery
    reason = (
        _("no mobile number")
        if not number
        else _("the SMS could not be sent; its template may not be approved")
    )
    forwarded = _("For %(name)s (%(reason)s): %(text)s") % {
        "name": to.display_name,
        "reason": reason,
        "text": text,
    }
    if not forward:
        return delivery  # the caller has its own way up (a later escalation)
    for boss in staff_above(to, compound_id=compound_id):
        alert_raise(
            to=boss,
            text=forwarded,
            key=f"{key}:for:{to.pk}",
            link=link,
            severity=severity,
            about=to,
        )
        delivery.forwarded_to.append(boss)
    if not delivery.forwarded_to:
        log.warning("alert %s reached user %s in the app only: nobody above", key, to.pk)
    return delivery


def alert_staff(
    *,
    compound_id: int,
    role: str,
    text: Any,
    key: str,
    link: str = "",
    severity: str = Severity.WARNING,
    but: Iterable[int] = (),
) -> list[User]:
    """An in-app alert to the users of a role who answer for a compound (its community's
    secretaries, say); with none, to the first level above that has staff. `but`: user ids
    that need not be told (the one who did it). Returns who was told."""
    skip = set(but)
    told = [u for u in staff_of(compound_id, role=role) if u.pk not in skip]
    for user in told:
        alert_raise(to=user, text=text, key=key, link=link, severity=severity)
    if not told:
        log.warning("alert %s: nobody answers for compound %s", key, compound_id)
    return told
