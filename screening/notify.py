"""What screening texts, through messaging (floor 2): a new case to the community secretary and
the district staff who answer for the compound, by SMS and under their bell.

The text is a provider-approved template created unapproved by migration: an operator enters
the provider's code and approves it (seed_demo approves it with a demo code). An SMS that cannot
be queued goes up a level in the app (messaging.alerts)."""

import logging
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Role, Severity
from accounts.services import in_site_language
from messaging.alerts import alert_deliver
from messaging.services import notify_by_sms

log = logging.getLogger(__name__)

CASE_ALERT = "新增阳性病例通知"
CASE_ALERT_BODY = "{compound}{date}新增阳性病例，小区已转为封控区，请立即处置。"
PURPOSE = "screening_case"


def case_key(case_id: int, user_id: int) -> str:
    return f"screening:case:{case_id}:{user_id}"


@in_site_language
def case_found(*, case_id: int, compound: Any, found_on: Any) -> int:
    """Tell the compound's secretaries and district staff of a new case, once each (the key
    names case and person). Returns how many SMS were queued."""
    from compounds.selectors import staff_of

    text = _("New positive case in %(compound)s on %(date)s: the compound is now sealed.") % {
        "compound": compound.name,
        "date": found_on.isoformat(),
    }
    link = reverse("screening:case", args=[case_id])
    queued = 0
    told: set[int] = set()
    for role in (Role.SECRETARY, Role.DISTRICT_STAFF):
        for user in staff_of(compound.pk, role=role):
            if user.pk in told:
                continue
            told.add(user.pk)
            key = case_key(case_id, user.pk)

            def sms(phone: str, key: str = key) -> bool:
                sent = notify_by_sms(
                    to=phone,
                    template=CASE_ALERT,
                    variables={"compound": compound.name, "date": found_on.isoformat()},
                    purpose=PURPOSE,
                    idempotency_key=key,
                    urgent=True,
                    place=compound,
                    cut=True,
                )
                return bool(sent)

            delivery = alert_deliver(
                to=user,
                text=text,
                key=key,
                link=link,
                severity=Severity.URGENT,
                sms=sms,
                compound_id=compound.pk,
            )
            queued += delivery.texted
    return queued
